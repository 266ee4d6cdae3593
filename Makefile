# crypta — top-level entry points. Everything installs its own Debian packages first.
BUILD_DIR ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=Release

.PHONY: all setup build test fuzz sanitize demo bench clean format

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

format:
	find src bench -name '*.h' -o -name '*.cc' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR)
