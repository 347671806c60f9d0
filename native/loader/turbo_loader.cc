// N-API addon that loads the Turbo op library into the TensorFlow tfjs-node already loaded.
// TF_LoadLibrary registers the library's ops and kernels in that process-wide registry (the library
// links libtensorflow_framework.so.2, which the dynamic loader shares by soname), reports failures
// as a status instead of aborting, and never unloads the library. This addon links
// libtensorflow_cc.so.2 itself because tfjs-node loads it privately (RTLD_LOCAL).
//
//   load(path: string): string[]   names of the ops the library registered; throws with TF's message
#include <node_api.h>

#include <cstdint>
#include <string>
#include <vector>

#include "tensorflow/c/c_api.h"

namespace {

// OpList (tensorflow/core/framework/op_def.proto): field 1, repeated OpDef; OpDef field 1, name.
// Parsed by hand: two fields are not worth a protobuf dependency.
bool ReadVarint(const uint8_t*& p, const uint8_t* end, uint64_t* v) {
  *v = 0;
  for (int shift = 0; p < end && shift < 64; shift += 7) {
    const uint8_t byte = *p++;
    *v |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if (!(byte & 0x80)) return true;
  }
  return false;
}

// Skips one field of wire type `wire`; false on malformed input.
bool SkipField(const uint8_t*& p, const uint8_t* end, uint64_t wire) {
  uint64_t v;
  switch (wire) {
    case 0: return ReadVarint(p, end, &v);
    case 1: if (end - p < 8) return false; p += 8; return true;
    case 2: if (!ReadVarint(p, end, &v) || static_cast<uint64_t>(end - p) < v) return false; p += v; return true;
    case 5: if (end - p < 4) return false; p += 4; return true;
    default: return false;
  }
}

// Calls f(field, wire, payload, payload_end) for each length-delimited field, skips the others.
template <typename F>
bool ForEachField(const uint8_t* p, const uint8_t* end, F f) {
  while (p < end) {
    uint64_t key, len;
    if (!ReadVarint(p, end, &key)) return false;
    if ((key & 7) != 2) {
      if (!SkipField(p, end, key & 7)) return false;
      continue;
    }
    if (!ReadVarint(p, end, &len) || static_cast<uint64_t>(end - p) < len) return false;
    f(key >> 3, p, p + len);
    p += len;
  }
  return true;
}

std::vector<std::string> OpNames(const TF_Buffer& op_list) {
  std::vector<std::string> names;
  const auto* data = static_cast<const uint8_t*>(op_list.data);
  ForEachField(data, data + op_list.length, [&](uint64_t field, const uint8_t* op, const uint8_t* op_end) {
    if (field != 1) return;
    ForEachField(op, op_end, [&](uint64_t f, const uint8_t* s, const uint8_t* s_end) {
      if (f == 1) names.emplace_back(reinterpret_cast<const char*>(s), s_end - s);
    });
  });
  return names;
}

napi_value Throw(napi_env env, const std::string& message) {
  napi_throw_error(env, nullptr, message.c_str());
  return nullptr;
}

napi_value Load(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc != 1) {
    return Throw(env, "load(path): one argument expected");
  }
  size_t len = 0;
  if (napi_get_value_string_utf8(env, argv[0], nullptr, 0, &len) != napi_ok) return Throw(env, "load(path): path must be a string");
  std::string path(len, '\0');
  napi_get_value_string_utf8(env, argv[0], path.data(), len + 1, &len);

  TF_Status* status = TF_NewStatus();
  TF_Library* library = TF_LoadLibrary(path.c_str(), status);
  if (TF_GetCode(status) != TF_OK) {
    const std::string message = TF_Message(status);
    TF_DeleteStatus(status);
    return Throw(env, message);
  }
  TF_DeleteStatus(status);
  const std::vector<std::string> names = OpNames(TF_GetOpList(library));
  // Frees the handle only: TensorFlow keeps the library loaded and its ops registered.
  TF_DeleteLibraryHandle(library);

  napi_value result;
  napi_create_array_with_length(env, names.size(), &result);
  for (size_t i = 0; i < names.size(); ++i) {
    napi_value s;
    napi_create_string_utf8(env, names[i].data(), names[i].size(), &s);
    napi_set_element(env, result, static_cast<uint32_t>(i), s);
  }
  return result;
}

napi_value Init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "load", NAPI_AUTO_LENGTH, Load, nullptr, &fn);
  napi_set_named_property(env, exports, "load", fn);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
