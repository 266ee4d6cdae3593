# crypta — top-level entry points. Everything installs its own Debian packages first.
BUILD_DIR ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=Release

.PHONY: all setup build test fuzz sanitize demo bench clean format image

all: build

setup:
	@./scripts/setup.sh

$(BUILD_DIR)/CMakeCache.txt:
	cmake -S . -B $(BUILD_DIR) $(CMAKE_FLAGS)

build: setup $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j$(JOBS)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j$(JOBS)

# Issue 14: libFuzzer+ASan+UBSan campaign (clang-14, own build dir), FUZZ_SECONDS per target.
FUZZ_SECONDS ?= 60
fuzz: setup
	JOBS=$(JOBS) ./scripts/fuzz.sh $(FUZZ_SECONDS) $(BUILD_DIR)-fuzz

# Unit tests that do not link libtorch, under ASan+UBSan (clang-14, own build dir).
sanitize: setup
	JOBS=$(JOBS) ./scripts/sanitize.sh $(BUILD_DIR)-asan

demo: build
	./scripts/demo.sh $(BUILD_DIR)

bench: build
	./scripts/bench.sh $(BUILD_DIR)

# crypta-runtime's container image (Containerfile, docs/kubernetes.md) with podman, else
# buildah; the build context holds only the binary. IMAGE names the tag.
IMAGE ?= ghcr.io/crypta/crypta-runtime:0.1.0
image:
	@if command -v podman >/dev/null 2>&1; then :; \
	elif command -v buildah >/dev/null 2>&1; then :; \
	else echo "make image: needs podman or buildah (apt-get install podman)"; exit 1; fi
	@$(MAKE) --no-print-directory setup $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j$(JOBS) --target crypta-runtime
	rm -rf $(BUILD_DIR)/image-context && mkdir -p $(BUILD_DIR)/image-context
	cp $(BUILD_DIR)/bin/crypta-runtime $(BUILD_DIR)/image-context/
	if command -v podman >/dev/null 2>&1; then \
	  podman build -f Containerfile -t $(IMAGE) $(BUILD_DIR)/image-context; \
	else \
	  buildah bud -f Containerfile -t $(IMAGE) $(BUILD_DIR)/image-context; \
	fi

format:
	find src bench -name '*.h' -o -name '*.cc' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR)
