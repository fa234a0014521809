// The host's TSC frequency, passed to guests as tsc_early_khz=.
//
// microvm has neither HPET nor a PM timer, so a guest kernel calibrates its
// TSC against the PIT, which is timing-sensitive under TCG on a busy host and
// hangs about one boot in three. Under TCG the guest's TSC is the host's, so
// telling the kernel the host's figure avoids calibration altogether.
#pragma once

#include <chrono>
#include <cstdint>

#include "base/result.h"

namespace sbx::vm {

/// The host TSC frequency in kHz: /sys/devices/system/cpu/cpu0/tsc_freq_khz
/// when the kernel exposes it, else measured (median of several rdtsc vs
/// CLOCK_MONOTONIC_RAW rounds). Fails if the figure is outside 100 MHz-10 GHz.
Result<uint64_t> host_tsc_khz();

/// Measures the TSC frequency only (ignores sysfs): `rounds` rounds of
/// `round_length` each, returning the median in kHz.
Result<uint64_t> measure_tsc_khz(
    int rounds = 5,
    std::chrono::milliseconds round_length = std::chrono::milliseconds(60));

/// Range check shared by both sources.
Result<uint64_t> check_tsc_khz(uint64_t khz);

}  // namespace sbx::vm
