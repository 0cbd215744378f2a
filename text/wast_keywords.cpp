#include "text/wast.hpp"

namespace kiln::text {

std::string_view command_keyword(Command::Kind kind) {
  switch (kind) {
    case Command::Kind::Module:
      return "module";
    case Command::Kind::ModuleInstance:
      return "module";
    case Command::Kind::Register:
      return "register";
    case Command::Kind::Action:
      return "action";
    case Command::Kind::AssertReturn:
      return "assert_return";
    case Command::Kind::AssertTrap:
      return "assert_trap";
    case Command::Kind::AssertExhaustion:
      return "assert_exhaustion";
    case Command::Kind::AssertException:
      return "assert_exception";
    case Command::Kind::AssertMalformed:
      return "assert_malformed";
    case Command::Kind::AssertInvalid:
      return "assert_invalid";
    case Command::Kind::AssertUnlinkable:
      return "assert_unlinkable";
    case Command::Kind::AssertUninstantiable:
      return "assert_uninstantiable";
    case Command::Kind::AssertMalformedCustom:
      return "assert_malformed_custom";
    case Command::Kind::AssertInvalidCustom:
      return "assert_invalid_custom";
    case Command::Kind::Thread:
      return "thread";
    case Command::Kind::Wait:
      return "wait";
  }
  return "unknown";
}

}  // namespace kiln::text
