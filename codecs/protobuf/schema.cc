#include "codecs/protobuf/schema.h"

#include <google/protobuf/compiler/parser.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <algorithm>

namespace pb {

namespace {

using google::protobuf::FileDescriptorProto;
using google::protobuf::compiler::Parser;
using google::protobuf::compiler::SourceLocationTable;

// Keeps the first syntax error with its position.
class SyntaxErrors : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, int column, const std::string &message) override {
    if (first.empty()) first = "line " + std::to_string(line + 1) + ":" + std::to_string(column + 1) + ": " + message;
  }
  std::string first;
};

// Keeps the first semantic error, placed by the parser's source locations.
class BuildErrors : public google::protobuf::DescriptorPool::ErrorCollector {
 public:
  explicit BuildErrors(const SourceLocationTable &where) : where_(where) {}
  void AddError(const std::string &, const std::string &element, const google::protobuf::Message *descriptor,
                ErrorLocation location, const std::string &message) override {
    if (!first.empty()) return;
    int line = -1, column = -1;
    where_.Find(descriptor, location, &line, &column);
    first = line >= 0 ? "line " + std::to_string(line + 1) + ":" + std::to_string(column + 1) + ": " : "";
    first += element + ": " + message;
  }
  std::string first;

 private:
  const SourceLocationTable &where_;
};

}  // namespace

uint32_t wire_type(FieldDescriptor::Type t) {
  switch (t) {
    case FieldDescriptor::TYPE_DOUBLE:
    case FieldDescriptor::TYPE_FIXED64:
    case FieldDescriptor::TYPE_SFIXED64: return kFixed64;
    case FieldDescriptor::TYPE_FLOAT:
    case FieldDescriptor::TYPE_FIXED32:
    case FieldDescriptor::TYPE_SFIXED32: return kFixed32;
    case FieldDescriptor::TYPE_STRING:
    case FieldDescriptor::TYPE_BYTES:
    case FieldDescriptor::TYPE_MESSAGE: return kLen;
    case FieldDescriptor::TYPE_GROUP: return kStartGroup;
    default: return kVarint;
  }
}

const FieldPlan *MessagePlan::find(int number) const {
  if (number > 0 && number < kDense) {
    int16_t i = dense[static_cast<size_t>(number)];
    return i < 0 ? nullptr : &fields[static_cast<size_t>(i)];
  }
  for (const FieldPlan &f : fields) {
    if (f.number == number) return &f;
  }
  return nullptr;
}

// Well-known types compiled into libprotobuf (google/protobuf/*.proto) can
// be imported: the generated pool is the underlay.
Registry::Registry()
    : pool_(std::make_unique<google::protobuf::DescriptorPool>(google::protobuf::DescriptorPool::generated_pool())) {}

bool Registry::load(const std::string &text, const std::string &file_name, std::string *error) {
  google::protobuf::io::ArrayInputStream input(text.data(), static_cast<int>(text.size()));
  SyntaxErrors syntax;
  google::protobuf::io::Tokenizer tokenizer(&input, &syntax);
  Parser parser;
  parser.RecordErrorsTo(&syntax);
  SourceLocationTable where;
  parser.RecordSourceLocationsTo(&where);
  FileDescriptorProto file;
  if (!parser.Parse(&tokenizer, &file) || !syntax.first.empty()) {
    *error = syntax.first.empty() ? "cannot parse the .proto text" : syntax.first;
    return false;
  }
  file.set_name(file_name);
  BuildErrors build(where);
  if (pool_->BuildFileCollectingErrors(file, &build) == nullptr) {
    *error = build.first.empty() ? "cannot build the .proto file" : build.first;
    return false;
  }
  return true;
}

const MessagePlan *Registry::find(const std::string &full_name) {
  auto it = by_name_.find(full_name);
  if (it != by_name_.end()) return it->second;
  const Descriptor *d = pool_->FindMessageTypeByName(full_name);
  if (d == nullptr) return nullptr;
  const MessagePlan *p = plan(d);
  by_name_.emplace(full_name, p);
  return p;
}

const MessagePlan *Registry::plan(const Descriptor *d) {
  auto it = plans_.find(d);
  if (it != plans_.end()) return it->second.get();
  auto p = std::make_unique<MessagePlan>();
  p->descriptor = d;
  bool proto3 = d->file()->syntax() == google::protobuf::FileDescriptor::SYNTAX_PROTO3;
  for (int i = 0; i < d->field_count(); i++) {
    const FieldDescriptor *fd = d->field(i);
    FieldPlan f;
    f.fd = fd;
    f.name = fd->name();
    f.number = fd->number();
    f.type = fd->type();
    f.repeated = fd->is_repeated();
    f.packed = fd->is_packed();
    f.map = fd->is_map();
    bool scalar = fd->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE;
    bool has_presence = fd->has_presence();
    f.implicit = proto3 && scalar && !f.repeated && !has_presence;
    // Absent scalars read back as their defaults, except where presence is
    // observable (oneof members, proto3 `optional`).
    f.fill_default = scalar && !f.repeated && fd->real_containing_oneof() == nullptr &&
                     (f.implicit || (!proto3 && !fd->containing_oneof()));
    uint32_t wt = f.packed ? static_cast<uint32_t>(kLen) : wire_type(f.type);
    f.tag = static_cast<uint32_t>(f.number) << 3 | wt;
    if (fd->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) f.sub = fd->message_type();
    p->fields.push_back(std::move(f));
  }
  std::sort(p->fields.begin(), p->fields.end(),
            [](const FieldPlan &a, const FieldPlan &b) { return a.number < b.number; });
  p->dense.assign(MessagePlan::kDense, -1);
  for (size_t i = 0; i < p->fields.size(); i++) {
    if (p->fields[i].number < MessagePlan::kDense)
      p->dense[static_cast<size_t>(p->fields[i].number)] = static_cast<int16_t>(i);
  }
  const MessagePlan *raw = p.get();
  plans_.emplace(d, std::move(p));
  return raw;
}

}  // namespace pb
