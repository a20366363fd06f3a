#!/usr/bin/env bash
# make sanity-node: the Node service on a real kernel (scripts/vm guest: iSCSI initiator,
# dm-multipath, ext4, block) against mcs-emulator on the host — see vm-node.sh for the phases.
# csi-sanity's Node suite in the VM needs the emulator's iSCSI target and the all-in-one binary
# (driver/cmd/instorage-csi) in the guest; until the emulator serves iSCSI this runs vm-node.sh,
# which falls back to a private tgtd for the same Node flows.
set -euo pipefail
exec "$(dirname "$0")/vm-node.sh" "$@"
