#include "validator/validator.hpp"
