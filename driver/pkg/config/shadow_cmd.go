package config

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// ShadowCommand implements `instorage-csi shadow`: it reads a password
// from the first line of stdin and prints its shadow form for
// storage[].shadow. With -generate-key it first creates the key file
// (refusing to overwrite one). Returns the process exit code.
//
//	instorage-csi shadow [-key-file PATH] [-generate-key] < password.txt
func ShadowCommand(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("shadow", flag.ContinueOnError)
	fs.SetOutput(stderr)
	keyFile := fs.String("key-file", ShadowKeyFile(), "file holding the 32-byte key as 64 hex characters (env "+ShadowKeyEnv+")")
	gen := fs.Bool("generate-key", false, "create a new random key in -key-file first (fails if the file exists)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: instorage-csi shadow [-key-file PATH] [-generate-key] < password\n\nReads the array password from stdin and prints the value for storage[].shadow.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 0 {
		// A password on the command line would land in shell history and ps.
		fmt.Fprintln(stderr, "shadow: the password is read from stdin, not from arguments")
		return 2
	}
	if *gen {
		k, err := NewShadowKey()
		if err == nil {
			err = writeNewFile(*keyFile, []byte(k+"\n"))
		}
		if err != nil {
			fmt.Fprintf(stderr, "shadow: generating key: %v\n", err)
			return 1
		}
		fmt.Fprintf(stderr, "shadow: wrote a new key to %s; store it in a Secret mounted at that path in the driver pods\n", *keyFile)
	}
	key, err := ReadShadowKey(*keyFile)
	if err != nil {
		fmt.Fprintf(stderr, "shadow: %v\n", err)
		return 1
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		fmt.Fprintf(stderr, "shadow: reading password: %v\n", err)
		return 1
	}
	pw := strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if pw == "" {
		fmt.Fprintln(stderr, "shadow: empty password on stdin")
		return 1
	}
	s, err := EncryptShadow(key, pw)
	if err != nil {
		fmt.Fprintf(stderr, "shadow: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, s)
	return 0
}

func writeNewFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
