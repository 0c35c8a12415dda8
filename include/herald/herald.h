// Herald: message passing between processes, on one host and across hosts.
// The one header an application includes (plus herald/typed.h for MessagePack values).
// Start with docs/api.md.
#pragma once

#include "herald/address.h"       // IWYU pragma: export
#include "herald/coordination.h"  // IWYU pragma: export
#include "herald/errors.h"        // IWYU pragma: export
#include "herald/group.h"         // IWYU pragma: export
#include "herald/ids.h"           // IWYU pragma: export
#include "herald/naming.h"        // IWYU pragma: export
#include "herald/node.h"          // IWYU pragma: export
#include "herald/process.h"       // IWYU pragma: export
