"""Booting a kernel in QEMU and running a host command inside: kernels (vmlinux/bzImage/.deb), the
generated initramfs, QEMU (microvm/q35, KVM probe, TCG), the guest channel, watchdog and kernel health."""
