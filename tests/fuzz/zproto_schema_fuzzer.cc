// Fuzz target: the zproto schema parser.
#include <cstddef>
#include <cstdint>
#include <string>

#include "codecs/zproto/schema.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string text(reinterpret_cast<const char *>(data), size);
  std::string error;
  auto schema = zproto::Schema::parse(text, &error);
  if (schema == nullptr && error.rfind("line ", 0) != 0) __builtin_trap();  // errors always name a line
  return 0;
}
