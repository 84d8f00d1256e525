// .proto files loaded at run time, and a flat plan per message type that
// the encoder and decoder walk instead of libprotobuf's reflection.
#pragma once

#include <google/protobuf/descriptor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace pb {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;

struct MessagePlan;

struct FieldPlan {
  const FieldDescriptor *fd = nullptr;
  std::string name;
  int number = 0;
  FieldDescriptor::Type type = FieldDescriptor::TYPE_INT32;
  bool repeated = false;
  bool packed = false;
  bool map = false;                 // a map field: repeated entries with key 1 and value 2
  bool implicit = false;            // proto3 scalar without presence: default not sent
  bool fill_default = false;        // decode sets the default when absent
  uint32_t tag = 0;                 // the field's tag for its wire type
  const Descriptor *sub = nullptr;  // message or map entry type
};

struct MessagePlan {
  const Descriptor *descriptor = nullptr;
  std::vector<FieldPlan> fields;  // by field number
  // field number -> index in fields, for numbers up to kDense; larger ones
  // are searched.
  static constexpr int kDense = 256;
  std::vector<int16_t> dense;
  const FieldPlan *find(int number) const;
};

class Registry {
 public:
  Registry();
  // Parses and adds one .proto text; false with *error ("line N: ...").
  bool load(const std::string &text, const std::string &file_name, std::string *error);
  // The plan for a full message name ("pkg.Msg"), or nullptr.
  const MessagePlan *find(const std::string &full_name);
  const MessagePlan *plan(const Descriptor *d);

 private:
  std::unique_ptr<google::protobuf::DescriptorPool> pool_;
  std::unordered_map<const Descriptor *, std::unique_ptr<MessagePlan>> plans_;
  std::unordered_map<std::string, const MessagePlan *> by_name_;
};

// Wire types.
enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLen = 2, kStartGroup = 3, kEndGroup = 4, kFixed32 = 5 };
uint32_t wire_type(FieldDescriptor::Type t);

}  // namespace pb
