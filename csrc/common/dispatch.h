#pragma once
// Small compile-time switches: turn a runtime bool into a constexpr template
// argument so the inner loops carry no branches (the flash-attention
// static_switch.h idiom).

#define FASTPREP_BOOL_SWITCH(COND, CONST_NAME, ...) \
  [&] {                                             \
    if (COND) {                                     \
      constexpr bool CONST_NAME = true;             \
      return __VA_ARGS__();                         \
    } else {                                        \
      constexpr bool CONST_NAME = false;            \
      return __VA_ARGS__();                         \
    }                                               \
  }()
