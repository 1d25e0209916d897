// Public entry to the segment cache for tools/, bench/ and tests: the runtime
// Cache facade (policy chosen once: FIFO, LRU or S4LRU), Object and Chunk.
#pragma once

#include "cache/cache.hpp"
#include "cache/object.hpp"
#include "core/chunk.hpp"
