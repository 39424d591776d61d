"""The physics: pure functions of model, plan and hardware (no simpy, no I/O)."""
