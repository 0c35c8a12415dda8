// HERALD_API marks what libherald.so exports: the shared library is built with hidden
// visibility, so only the public API declared in include/herald/ with this mark is visible to
// programs (docs/install.md). In the static libraries the mark changes nothing.
#pragma once

#if defined(__GNUC__) || defined(__clang__)
#define HERALD_API __attribute__((visibility("default")))
#else
#define HERALD_API
#endif
