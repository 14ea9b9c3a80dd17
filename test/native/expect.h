// expect.h — the one assertion the stand-alone C++ kernel tests share: EXPECT
// prints the failing condition's message with its file and line and counts it
// in g_failures, so a test runs every check and its main returns non-zero at
// the end if any failed.
#pragma once
#include <cstdio>

inline int g_failures = 0;

#define EXPECT(cond, ...)                                       \
  do {                                                          \
    if (!(cond)) {                                              \
      std::fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
      std::fprintf(stderr, __VA_ARGS__);                        \
      std::fprintf(stderr, "\n");                               \
      ++g_failures;                                             \
    }                                                           \
  } while (0)
