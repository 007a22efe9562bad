"""NVML / psutil / sysfs probes. (Being written: see issue #2.)"""
