// Results and errors of the public API: herald::Result<T>, herald::Status, herald::Error and
// herald::Errc (shared with the rest of Herald; see docs/api.md, "Errors").
// Public API. Every call that can fail returns one of these; nothing throws.
#pragma once

#include "core/result.h"  // IWYU pragma: export
