"""Named unit conversions: one definition each, decimal (SI) prefixes unless the name says GiB.

Vendors quote HBM in decimal GB and bandwidth in decimal GB/s or Gb/s; this project follows
them, so ``hbm_gb`` means 1e9 bytes and ``nic_gbit_per_s`` means 1e9 bits per second. Every
module converts through these names; none defines its own.
"""

BYTES_PER_GB = 1e9
BYTES_PER_TB = 1e12
BYTES_PER_PB = 1e15
BITS_PER_BYTE = 8
FLOPS_PER_TFLOPS = 1e12
SECONDS_PER_US = 1e-6
SECONDS_PER_MINUTE = 60.0
SECONDS_PER_HOUR = 3600.0
SECONDS_PER_DAY = 86_400.0
HOURS_PER_DAY = 24.0
W_PER_MW = 1e6
J_PER_MWH = 3.6e9
TOKENS_PER_MILLION = 1e6
TOKENS_PER_TRILLION = 1e12
