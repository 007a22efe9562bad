"""What this machine is: NVIDIA (NVML), AMD (sysfs), CPU, RAM, disks, memory bandwidth, GPU processes."""
