package array

import (
	"testing"

	"github.com/instorage-csi/instorage-csi/driver/pkg/config"
)

func TestHostKeyCallbackFor(t *testing.T) {
	for name, tc := range map[string]struct {
		s       config.Storage
		wantErr bool
	}{
		"none":        {config.Storage{Name: "a"}, true},
		"insecure":    {config.Storage{Name: "a", InsecureSkipHostKeyVerify: true}, false},
		"fingerprint": {config.Storage{Name: "a", HostKeyFingerprint: "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"}, false},
		"bad print":   {config.Storage{Name: "a", HostKeyFingerprint: "SHA256:short"}, true},
		"missing kh":  {config.Storage{Name: "a", KnownHostsFile: "/nonexistent/known_hosts"}, true},
	} {
		cb, err := HostKeyCallbackFor(&tc.s)
		if (err != nil) != tc.wantErr || (err == nil && cb == nil) {
			t.Errorf("%s: cb %v err %v", name, cb != nil, err)
		}
		if tc.wantErr {
			if _, err := Connect(&tc.s, nil); err == nil {
				t.Errorf("%s: Connect accepted it", name)
			}
		}
	}
}
