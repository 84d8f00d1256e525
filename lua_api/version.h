// The runtime's version: what `silly --version` prints and silly.version is.
#pragma once

namespace silly {

constexpr char kVersion[] = "0.6";

}  // namespace silly
