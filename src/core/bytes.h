// Byte buffers (Bytes, ByteView): the public types of herald/bytes.h, for the layers.
// Layer: core.
#pragma once

#include "herald/bytes.h"  // IWYU pragma: export
