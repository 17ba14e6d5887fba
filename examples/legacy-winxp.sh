#!/bin/sh
# A hand-written start script of the kind domxml from-native reads.
exec qemu-system-x86_64 -enable-kvm -name winxp -m 2048 -smp 2 \
  -hda /var/lib/vms/winxp.qcow2 -cdrom /srv/iso/winxp.iso -boot d \
  -net nic,model=rtl8139,macaddr=52:54:00:12:34:56 -net user \
  -vga cirrus -vnc 127.0.0.1:1 -usb -usbdevice tablet -localtime \
  -soundhw ac97 -monitor stdio
