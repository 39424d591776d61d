"""Named unit conversions: one definition each, decimal (SI) prefixes unless the name says GiB.

Vendors quote HBM in decimal GB and bandwidth in decimal GB/s or Gb/s; this project follows
them, so ``hbm_gb`` means 1e9 bytes and ``nic_gbit_per_s`` means 1e9 bits per second.
"""

BYTES_PER_GB = 1e9
BYTES_PER_TB = 1e12
BITS_PER_BYTE = 8
FLOPS_PER_TFLOPS = 1e12
SECONDS_PER_US = 1e-6
SECONDS_PER_DAY = 86_400.0
