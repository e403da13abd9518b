#include "text/unicode/tables.h"

#include "text/unicode/bert_tables.h"

namespace fastprep {
namespace text {
namespace detail {

static_assert(unicode::kRecordWidth == kRecordWidth, "bert_tables.h is stale: re-run gen_tables.py");
static_assert(unicode::kStage1Size == (0x110000 >> 8), "stage 1 must cover every code point");

const UnicodeView& host_unicode_tables() {
  static const UnicodeView view{unicode::kStage1, unicode::kStage2, unicode::kRecords, unicode::kPool};
  return view;
}

} // namespace detail
} // namespace text
} // namespace fastprep
