// Schemas of the text family and the fastprep.Vocab TorchScript class.
#include <torch/custom_class.h>
#include <torch/library.h>

#include <string>
#include <vector>

#include "text/vocab.h"

namespace fastprep {
namespace text {

void register_vocab_class() {
  static const auto registered = [] {
    torch::class_<Vocab>("fastprep", "Vocab")
          .def(torch::init<std::vector<std::string>, c10::optional<int64_t>>())
          .def("__len__", &Vocab::len)
          .def("__contains__", &Vocab::contains)
          .def("__getitem__", &Vocab::getitem)
          .def("set_default_index", &Vocab::set_default_index)
          .def("get_default_index", &Vocab::get_default_index)
          .def("insert_token", &Vocab::insert_token)
          .def("append_token", &Vocab::append_token)
          .def("lookup_token", &Vocab::lookup_token)
          .def("lookup_tokens", &Vocab::lookup_tokens)
          .def("lookup_indices", &Vocab::lookup_indices)
          .def("get_stoi", &Vocab::get_stoi)
          .def("get_itos", &Vocab::get_itos)
          .def("_table", &Vocab::table)
          // What fastprep._ops.text's fake Vocab is rebuilt from under torch.compile / torch.export.
          .def("__obj_flatten__",
               [](const c10::intrusive_ptr<Vocab>& self) {
                 const auto d = self->get_default_index();
                 return std::make_tuple(std::make_tuple(std::string("itos"), self->get_itos()),
                                        std::make_tuple(std::string("default_index"),
                                                        d ? std::vector<int64_t>{*d} : std::vector<int64_t>{}));
               })
          .def_pickle([](const c10::intrusive_ptr<Vocab>& self) { return self->state(); },
                      [](VocabState state) { return Vocab::from_state(std::move(state)); });
    return true;
  }();
  (void)registered;
}

TORCH_LIBRARY_FRAGMENT(fastprep, m) {
  m.set_python_module("fastprep._ops.text");

  // Registered through a function-local static: kernels in other files name the class in their
  // signatures, and static initialization order across files is unspecified.
  register_vocab_class();

  // Strings in, packed UTF-8 out: the bridge from str[] to the tensor kernels (one H2D copy per batch).
  m.def("_pack_strings(str[] texts) -> (Tensor bytes, Tensor offsets)");
  // torchtext's basic_english on one line.
  m.def("basic_english(str line) -> str[]");
  // basic_english + Vocab lookup for a batch, ragged: flat ids and row offsets [B + 1].
  m.def("basic_english_lookup(str[] lines, __torch__.torch.classes.fastprep.Vocab vocab) -> "
        "(Tensor ids, Tensor offsets)");
  // BERT WordPiece (HF BertNormalizer + BertPreTokenizer + WordPiece) straight to padded ids and mask.
  // special_ids: vocab tokens matched whole in the raw text first (HF's special added tokens).
  // max_length < 0: no truncation. pad_to: -1 longest, -2 no padding (rows must agree), >= 0 at least that.
  m.def(
      "bert_encode(Tensor text_bytes, Tensor text_offsets, Tensor vocab_bytes, Tensor vocab_offsets, "
      "Tensor vocab_slots, int[] special_ids, bool lowercase, bool strip_accents, int unk_id, int cls_id, int sep_id, "
      "int pad_id, "
      "int max_length, int pad_to, bool add_special_tokens) -> (Tensor input_ids, Tensor attention_mask)");
  // The same tokenizer without specials or padding: flat ids and row offsets [B + 1].
  m.def(
      "bert_tokenize(Tensor text_bytes, Tensor text_offsets, Tensor vocab_bytes, Tensor vocab_offsets, "
      "Tensor vocab_slots, int[] special_ids, bool lowercase, bool strip_accents, int unk_id) -> "
      "(Tensor ids, Tensor offsets)");
}

} // namespace text
} // namespace fastprep
