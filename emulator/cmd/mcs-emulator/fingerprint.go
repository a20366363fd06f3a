package main

import (
	"flag"
	"fmt"
	"path/filepath"

	"github.com/instorage-csi/instorage-csi/emulator/config"
	"github.com/instorage-csi/instorage-csi/emulator/sshd"
	gossh "golang.org/x/crypto/ssh"
)

// runFingerprint prints the host key fingerprint, creating the key if the
// state directory has none yet so a deployment can pin it before first start.
func runFingerprint(args []string) error {
	fs := flag.NewFlagSet("fingerprint", flag.ExitOnError)
	dir := fs.String("state-dir", config.DefaultStateDir, "state directory of the emulator")
	if err := fs.Parse(args); err != nil {
		return err
	}
	signer, err := sshd.LoadOrCreateHostKey(filepath.Join(*dir, sshd.HostKeyFile))
	if err != nil {
		return err
	}
	fmt.Println(gossh.FingerprintSHA256(signer.PublicKey()))
	return nil
}
