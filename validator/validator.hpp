// The validator: module-level rules and function-body typing, as a visitor over operators
// that the JIT drives in the same pass (see ../shared/DESIGN.md).
#pragma once
