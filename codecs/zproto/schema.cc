#include "codecs/zproto/schema.h"

#include <cctype>
#include <cstdlib>
#include <cstring>

namespace zproto {

const Field *Struct::find(int tag) const {
  size_t lo = 0, hi = fields.size();
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (fields[mid].tag < tag) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo < fields.size() && fields[lo].tag == tag ? &fields[lo] : nullptr;
}

const Struct *Schema::by_name(const std::string &name) const {
  auto it = names_.find(name);
  return it == names_.end() ? nullptr : it->second;
}

const Struct *Schema::by_tag(int64_t tag) const {
  auto it = tags_.find(tag);
  if (it != tags_.end()) return it->second;
  if (tag == 0) {
    for (const auto &s : top_) {
      if (s->tag == 0) return s.get();
    }
  }
  return nullptr;
}

const char *type_name(const Field &f) {
  switch (f.type) {
    case Type::kBool: return "boolean";
    case Type::kByte: return "byte";
    case Type::kUByte: return "ubyte";
    case Type::kShort: return "short";
    case Type::kUShort: return "ushort";
    case Type::kInt: return "int32";
    case Type::kUInt: return "uint32";
    case Type::kLong: return "int64";
    case Type::kULong: return "uint64";
    case Type::kFloat: return "float";
    case Type::kString: return "string";
    case Type::kBlob: return "blob";
    case Type::kStruct: return f.sub->name.c_str();
  }
  return "?";
}

namespace {

struct Scalar {
  const char *name;
  Type type;
};

const Scalar kScalars[] = {
    {"boolean", Type::kBool},  {"byte", Type::kByte},   {"ubyte", Type::kUByte},   {"short", Type::kShort},
    {"ushort", Type::kUShort}, {"integer", Type::kInt}, {"int32", Type::kInt},     {"uinteger", Type::kUInt},
    {"uint32", Type::kUInt},   {"long", Type::kLong},   {"int64", Type::kLong},    {"ulong", Type::kULong},
    {"uint64", Type::kULong},  {"float", Type::kFloat}, {"string", Type::kString}, {"blob", Type::kBlob},
};

constexpr size_t kMaxToken = 63;

// Thrown inside the parser only; parse() turns it into the error string.
struct SyntaxError {
  std::string message;
};

}  // namespace

class Parser {
 public:
  Parser(const char *text, Schema *schema) : p_(text), schema_(schema) {}

  void parse_schema() {
    do {
      parse_top();
      skip_space();
    } while (*p_ != '\0');
  }
  int line() const { return line_; }

 private:
  enum Kind { kEnd, kIdent, kNumber, kPunct };
  struct Token {
    Kind kind;
    std::string text;
  };

  [[noreturn]] void fail(const std::string &msg) { throw SyntaxError{msg}; }

  void skip_space() {
    for (;;) {
      while (*p_ != '\0' && std::isspace(static_cast<unsigned char>(*p_))) {
        if (*p_ == '\n') line_++;
        p_++;
      }
      if (*p_ != '#') return;
      while (*p_ != '\0' && *p_ != '\n') p_++;
    }
  }

  Token peek() {
    skip_space();
    const char *save = p_;
    int save_line = line_;
    Token t = next();
    p_ = save;
    line_ = save_line;
    return t;
  }

  Token next() {
    skip_space();
    char c = *p_;
    if (c == '\0') return {kEnd, ""};
    if (std::isalpha(static_cast<unsigned char>(c))) {
      const char *start = p_;
      while (std::isalnum(static_cast<unsigned char>(*p_)) || *p_ == '_') p_++;
      if (static_cast<size_t>(p_ - start) > kMaxToken) fail("max length of token is '63'");
      return {kIdent, std::string(start, p_)};
    }
    if (std::isdigit(static_cast<unsigned char>(c))) {
      const char *start = p_;
      if (c == '0' && (p_[1] == 'x' || p_[1] == 'X')) {
        p_ += 2;
        while (std::isxdigit(static_cast<unsigned char>(*p_))) p_++;
      } else {
        while (std::isdigit(static_cast<unsigned char>(*p_))) p_++;
      }
      if (static_cast<size_t>(p_ - start) > kMaxToken) fail("max length of number is '63'");
      return {kNumber, std::string(start, p_)};
    }
    p_++;
    return {kPunct, std::string(1, c)};
  }

  void expect_punct(char c) {
    Token t = next();
    if (t.kind == kPunct && t.text[0] == c) return;
    if (t.kind == kEnd) fail(std::string("expect '") + c + "', at end of input");
    fail(std::string("expect '") + c + "', but found '" + t.text + "'");
  }

  std::string expect_ident() {
    Token t = next();
    if (t.kind == kIdent) return t.text;
    if (t.kind == kEnd) fail("expect 'string', at end of input");
    fail("expect 'string', but found '" + t.text + "'");
  }

  // Numbers convert as C's strtoul(s, NULL, 0): a leading 0 means octal.
  int64_t expect_number() {
    Token t = next();
    if (t.kind == kNumber) return static_cast<int64_t>(std::strtoul(t.text.c_str(), nullptr, 0));
    if (t.kind == kEnd) fail("expect 'digit', at end of input");
    fail("expect 'digit' but found '" + std::string(1, t.text[0]) + "'");
  }

  bool next_is(char c) {
    Token t = peek();
    return t.kind == kPunct && t.text[0] == c;
  }

  void parse_top() {
    std::string name = expect_ident();
    for (const auto &s : schema_->top_) {
      if (s->name == name) fail("already define a struct '" + name + "'");
    }
    auto st = std::make_unique<Struct>();
    st->name = name;
    if (peek().kind == kNumber) {
      // Stored as the original's C int: 0xffffffff reads back as -1.
      st->tag = static_cast<int32_t>(static_cast<uint32_t>(expect_number()));
      if (st->tag != 0 && schema_->tags_.count(st->tag) != 0) {
        fail("already define a protocol tag '" + std::to_string(st->tag) + "'");
      }
    }
    expect_punct('{');
    scopes_.push_back(st.get());
    parse_body(st.get());
    scopes_.pop_back();
    expect_punct('}');
    const Struct *raw = st.get();
    schema_->top_.push_back(std::move(st));
    schema_->names_.emplace(raw->name, raw);
    if (raw->tag != 0) schema_->tags_.emplace(raw->tag, raw);
  }

  void parse_body(Struct *st) {
    // Nested struct definitions first, then fields.
    while (peek().kind == kIdent) {
      std::string name = expect_ident();
      for (const auto &c : st->children) {
        if (c->name == name) fail("already define a struct '" + name + "'");
      }
      auto child = std::make_unique<Struct>();
      child->name = name;
      expect_punct('{');
      scopes_.push_back(child.get());
      parse_body(child.get());
      scopes_.pop_back();
      expect_punct('}');
      st->children.push_back(std::move(child));
    }
    while (next_is('.')) parse_field(st);
  }

  // Nested structs of the enclosing scopes, innermost first, then the
  // top-level structs defined so far.
  const Struct *resolve(const std::string &name) const {
    for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
      for (const auto &c : (*it)->children) {
        if (c->name == name) return c.get();
      }
    }
    return schema_->by_name(name);
  }

  void parse_field(Struct *st) {
    expect_punct('.');
    Field f;
    f.name = expect_ident();
    expect_punct(':');
    std::string type = expect_ident();
    bool bracket = false;
    std::string key;
    if (next_is('[')) {
      next();
      bracket = true;
      if (peek().kind == kIdent) key = expect_ident();
      expect_punct(']');
    }
    int64_t tag = expect_number();
    if (tag <= 0) fail("tag must great then 0");
    if (tag > 65535) fail("tag must less then 655535");
    if (!st->fields.empty() && tag <= st->fields.back().tag) fail("tag must be defined ascending");
    for (const auto &other : st->fields) {
      if (other.name == f.name) fail("already define a field '" + f.name + "'");
    }
    f.tag = static_cast<int>(tag);
    bool scalar = false;
    for (const auto &s : kScalars) {
      if (type == s.name) {
        f.type = s.type;
        scalar = true;
        break;
      }
    }
    if (scalar) {
      if (bracket && !key.empty()) fail("only struct array can be specify map index");
      if (bracket && (f.type == Type::kByte || f.type == Type::kUByte)) {
        // byte[] is a string and ubyte[] a blob: one scalar, not an array.
        f.type = f.type == Type::kByte ? Type::kString : Type::kBlob;
      } else {
        f.array = bracket;
      }
    } else {
      f.sub = resolve(type);
      if (f.sub == nullptr) fail("nonexist struct '" + type + "'");
      f.type = Type::kStruct;
      f.array = bracket;
      if (!key.empty()) {
        int idx = -1;
        for (size_t i = 0; i < f.sub->fields.size(); i++) {
          if (f.sub->fields[i].name == key) idx = static_cast<int>(i);
        }
        if (idx < 0) fail("struct " + f.sub->name + " has no field '" + key + "'");
        const Field &kf = f.sub->fields[static_cast<size_t>(idx)];
        if (kf.type == Type::kStruct) fail("struct field '" + key + "' can't be mapkey");
        if (kf.array) fail("array field '" + f.name + "' can't be mapkey");
        f.mapkey = idx;
      }
    }
    st->fields.push_back(std::move(f));
  }

  const char *p_;
  int line_ = 1;
  Schema *schema_;
  std::vector<Struct *> scopes_;
};

std::unique_ptr<Schema> Schema::parse(const std::string &text, std::string *error) {
  auto schema = std::make_unique<Schema>();
  Parser parser(text.c_str(), schema.get());
  try {
    parser.parse_schema();
  } catch (const SyntaxError &e) {
    *error = "line " + std::to_string(parser.line()) + " syntax error: " + e.message + "\n";
    return nullptr;
  }
  return schema;
}

}  // namespace zproto
