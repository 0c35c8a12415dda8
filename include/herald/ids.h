// Identities of the public API: herald::NodeId and herald::Pid, with their text forms
// (to_string, parse_node_id, parse_pid: "<node hex>.<local decimal>"). Public API.
#pragma once

#include "core/bytes.h"  // IWYU pragma: export
#include "core/ids.h"    // IWYU pragma: export
