// Identities (NodeId, Pid): the public types of herald/ids.h, for the layers. Layer: core.
#pragma once

#include "herald/ids.h"  // IWYU pragma: export
