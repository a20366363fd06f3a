package config

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
)

// The vendor's `cipher_helper -e` format is not public, so this project
// defines its own `shadow`:
//
//	shadow = "isv1:" + base64(nonce[12] || AES-256-GCM(password))
//
// The 32-byte key lives in a separate file (normally a Kubernetes Secret
// mounted into the driver pods), named by $INSTORAGE_CSI_SHADOW_KEY_FILE or
// DefaultShadowKeyFile. This keeps the array password out of a ConfigMap
// that many people can read; it protects nothing from someone who can read
// the key file too. A mounted Secret via storage[].secretDir is simpler and
// is the recommended way.
const (
	shadowPrefix         = "isv1:"
	shadowAAD            = "instorage-csi shadow v1"
	ShadowKeyEnv         = "INSTORAGE_CSI_SHADOW_KEY_FILE"
	DefaultShadowKeyFile = "/etc/instorage-csi/shadow-key/key"
)

// ShadowKeyFile is the key file path from the environment or the default.
func ShadowKeyFile() string {
	if p := os.Getenv(ShadowKeyEnv); p != "" {
		return p
	}
	return DefaultShadowKeyFile
}

// ShadowKeyFromEnv reads the key named by ShadowKeyFile.
func ShadowKeyFromEnv() ([]byte, error) { return ReadShadowKey(ShadowKeyFile()) }

// ReadShadowKey reads a key file: 64 hex characters (surrounding whitespace
// ignored).
func ReadShadowKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("shadow key: %w", err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("shadow key %s: want 64 hex characters (32 bytes)", path)
	}
	return key, nil
}

// NewShadowKey returns a fresh random key in the file format.
func NewShadowKey() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

func shadowAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != 32 {
		return nil, errors.New("shadow key must be 32 bytes")
	}
	blk, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(blk)
}

// EncryptShadow turns a password into its shadow form.
func EncryptShadow(key []byte, password string) (string, error) {
	if password == "" {
		return "", errors.New("empty password")
	}
	aead, err := shadowAEAD(key)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	sealed := aead.Seal(nonce, nonce, []byte(password), []byte(shadowAAD))
	return shadowPrefix + base64.StdEncoding.EncodeToString(sealed), nil
}

// DecryptShadow reverses EncryptShadow; a wrong key or a modified shadow
// fails authentication. Errors never contain the plaintext.
func DecryptShadow(key []byte, shadow string) (string, error) {
	if !strings.HasPrefix(shadow, shadowPrefix) {
		return "", fmt.Errorf("not an %s shadow (the vendor's cipher_helper format is not supported; run `instorage-csi shadow`)", strings.TrimSuffix(shadowPrefix, ":"))
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(shadow, shadowPrefix))
	if err != nil {
		return "", errors.New("shadow is not valid base64")
	}
	aead, err := shadowAEAD(key)
	if err != nil {
		return "", err
	}
	if len(raw) < aead.NonceSize()+aead.Overhead() {
		return "", errors.New("shadow is truncated")
	}
	pt, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], []byte(shadowAAD))
	if err != nil {
		return "", errors.New("shadow does not decrypt with this key (wrong key or modified shadow)")
	}
	return string(pt), nil
}
