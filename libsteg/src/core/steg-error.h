// SPDX-License-Identifier: MIT
// steg-error.h - the one exception type used inside libsteg. It never crosses the C
// API: steg-api.cpp catches it and turns it into a status plus steg_last_error().
#pragma once

#include "steg.h"

#include <stdexcept>
#include <string>

namespace steg {

class Error : public std::runtime_error {
  public:
    Error(steg_status status, const std::string & message) : std::runtime_error(message), status_(status) {}

    steg_status status() const { return status_; }

  private:
    steg_status status_;
};

// Stores the message of the last failure on this thread (see steg_last_error()).
void set_last_error(const std::string & message);

}  // namespace steg
