// zproto schemas: the parsed form of a .zproto text.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace zproto {

enum class Type : uint8_t {
  kBool,
  kByte,
  kUByte,
  kShort,
  kUShort,
  kInt,
  kUInt,
  kLong,
  kULong,
  kFloat,
  kString,
  kBlob,
  kStruct,
};

struct Struct;

struct Field {
  std::string name;
  int tag = 0;  // 1..65535
  Type type = Type::kInt;
  bool array = false;
  const Struct *sub = nullptr;  // kStruct only
  int mapkey = -1;              // index of the key field in sub, or -1
};

struct Struct {
  std::string name;
  int64_t tag = 0;  // protocol tag, top-level structs only
  std::vector<std::unique_ptr<Struct>> children;
  std::vector<Field> fields;  // in ascending tag order

  // The field with this tag, or nullptr. Fields are sorted by tag.
  const Field *find(int tag) const;
  // Tag of the first declared field (the delta base), 0 with no fields.
  int base_tag() const { return fields.empty() ? 0 : fields.front().tag; }
};

class Schema {
 public:
  // Parses `text` (up to its first NUL). On failure returns nullptr and
  // sets *error to "line N syntax error: <message>\n".
  static std::unique_ptr<Schema> parse(const std::string &text, std::string *error);

  const std::vector<std::unique_ptr<Struct>> &structs() const { return top_; }
  const Struct *by_name(const std::string &name) const;
  // Tag 0 is ambiguous: it finds the first untagged struct, if any.
  const Struct *by_tag(int64_t tag) const;

 private:
  friend class Parser;
  std::vector<std::unique_ptr<Struct>> top_;
  std::unordered_map<std::string, const Struct *> names_;
  std::unordered_map<int64_t, const Struct *> tags_;
};

// Schema type names as travel() reports them.
const char *type_name(const Field &f);

}  // namespace zproto
