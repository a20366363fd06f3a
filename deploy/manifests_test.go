// Package deploy_test checks the shipped manifests against the properties the
// driver and the vendor manual require. Every YAML file under deploy/kubernetes
// is parsed; when KUBECTL (and HELM) name binaries, every overlay (and the Helm
// chart) is also rendered and the rendered output is checked the same way.
package deploy_test

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/instorage-csi/instorage-csi/driver/pkg/config"
)

const driverName = "csi-instorage"

type object map[string]any

func (o object) kind() string { s, _ := o["kind"].(string); return s }
func (o object) name() string { return str(o, "metadata", "name") }

// get walks maps by key; it returns nil when any step is missing.
func get(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			if o, ok2 := v.(object); ok2 {
				m = o
			} else {
				return nil
			}
		}
		v = m[p]
	}
	return v
}

func str(v any, path ...string) string { s, _ := get(v, path...).(string); return s }
func list(v any, path ...string) []any { l, _ := get(v, path...).([]any); return l }

// splitDocs parses a multi-document YAML stream.
func splitDocs(t *testing.T, name string, data []byte) []object {
	t.Helper()
	var out []object
	for _, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(data), -1) {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		var o object
		if err := yaml.Unmarshal([]byte(doc), &o); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if o != nil && o.kind() != "" {
			out = append(out, o)
		}
	}
	return out
}

// manifestFiles returns every Kubernetes object in deploy/kubernetes, by file.
func manifestFiles(t *testing.T) map[string][]object {
	t.Helper()
	files := map[string][]object{}
	err := filepath.WalkDir("kubernetes", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".yaml") || filepath.Base(p) == "instorage.yaml" {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files[p] = splitDocs(t, p, data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 10 {
		t.Fatalf("found only %d manifest files under deploy/kubernetes", len(files))
	}
	return files
}

func allObjects(files map[string][]object) []object {
	var out []object
	keys := make([]string, 0, len(files))
	for k := range files {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, files[k]...)
	}
	return out
}

// pinnedVersions reads the sidecar tags from scripts/k8s/versions.sh, the one
// place they are set, so manifests and offline builds cannot drift apart.
func pinnedVersions(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile("../scripts/k8s/versions.sh")
	if err != nil {
		t.Fatal(err)
	}
	v := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^([A-Z]+)_VERSION=(v[0-9.]+)`).FindAllStringSubmatch(string(data), -1) {
		v[m[1]] = m[2]
	}
	return map[string]string{
		"registry.k8s.io/sig-storage/csi-provisioner":           v["PROVISIONER"],
		"registry.k8s.io/sig-storage/csi-attacher":              v["ATTACHER"],
		"registry.k8s.io/sig-storage/csi-snapshotter":           v["SNAPSHOTTER"],
		"registry.k8s.io/sig-storage/csi-resizer":               v["RESIZER"],
		"registry.k8s.io/sig-storage/csi-node-driver-registrar": v["REGISTRAR"],
		"registry.k8s.io/sig-storage/livenessprobe":             v["LIVENESSPROBE"],
	}
}

func podSpec(o object) any {
	switch o.kind() {
	case "Deployment", "DaemonSet", "StatefulSet":
		return get(o, "spec", "template", "spec")
	}
	return nil
}

func containers(o object) []any {
	ps := podSpec(o)
	return append(list(ps, "initContainers"), list(ps, "containers")...)
}

// checkImages: every image has an explicit tag, never latest; sidecars match versions.sh.
func checkImages(t *testing.T, where string, objs []object) {
	pins := pinnedVersions(t)
	for _, o := range objs {
		for _, c := range containers(o) {
			img := str(c, "image")
			if img == "" {
				continue // a strategic-merge patch names containers without images
			}
			i := strings.LastIndex(img, ":")
			if i < 0 || strings.Contains(img[i:], "/") {
				t.Errorf("%s: %s/%s: image %q has no tag", where, o.name(), str(c, "name"), img)
				continue
			}
			repo, tag := img[:i], img[i+1:]
			if tag == "latest" {
				t.Errorf("%s: %s: image %q uses latest", where, o.name(), img)
			}
			if want, ok := pins[repo]; ok && tag != want {
				t.Errorf("%s: %s: %s:%s, versions.sh pins %s", where, o.name(), repo, tag, want)
			}
		}
	}
}

// wantRBAC is the whole permission set the controller may hold: any extra verb
// or resource fails the test, so widening RBAC is a deliberate edit here.
var wantRBAC = map[string][]string{
	"/persistentvolumes":                                    {"create", "delete", "get", "list", "patch", "watch"},
	"/persistentvolumeclaims":                               {"get", "list", "update", "watch"},
	"/persistentvolumeclaims/status":                        {"patch"},
	"/nodes":                                                {"get", "list", "watch"},
	"/pods":                                                 {"list", "watch"},
	"/events":                                               {"create", "list", "patch", "update", "watch"},
	"storage.k8s.io/storageclasses":                         {"get", "list", "watch"},
	"storage.k8s.io/csinodes":                               {"get", "list", "watch"},
	"storage.k8s.io/volumeattachments":                      {"get", "list", "patch", "watch"},
	"storage.k8s.io/volumeattachments/status":               {"patch"},
	"storage.k8s.io/volumeattributesclasses":                {"get", "list", "watch"},
	"snapshot.storage.k8s.io/volumesnapshots":               {"get", "list"},
	"snapshot.storage.k8s.io/volumesnapshotclasses":         {"get", "list", "watch"},
	"snapshot.storage.k8s.io/volumesnapshotcontents":        {"get", "list", "patch", "update", "watch"},
	"snapshot.storage.k8s.io/volumesnapshotcontents/status": {"patch", "update"},
	"coordination.k8s.io/leases":                            {"create", "delete", "get", "list", "patch", "update", "watch"},
}

func checkRBAC(t *testing.T, where string, objs []object) {
	got := map[string]map[string]bool{}
	for _, o := range objs {
		if o.kind() != "ClusterRole" && o.kind() != "Role" {
			continue
		}
		if o.kind() == "Role" && o.name() != "csi-instorage-leader-election" {
			continue
		}
		for _, r := range list(o, "rules") {
			for _, g := range list(r, "apiGroups") {
				for _, res := range list(r, "resources") {
					key := g.(string) + "/" + res.(string)
					if got[key] == nil {
						got[key] = map[string]bool{}
					}
					for _, v := range list(r, "verbs") {
						if v == "*" || res == "*" || g == "*" {
							t.Errorf("%s: %s grants a wildcard", where, o.name())
						}
						got[key][v.(string)] = true
					}
				}
			}
		}
	}
	if len(got) == 0 {
		t.Fatalf("%s: no RBAC rules found", where)
	}
	for key, verbs := range got {
		want, ok := wantRBAC[key]
		if !ok {
			t.Errorf("%s: unexpected access to %s (%v)", where, key, verbs)
			continue
		}
		for v := range verbs {
			if !slices.Contains(want, v) {
				t.Errorf("%s: extra verb %q on %s", where, v, key)
			}
		}
	}
	if got["/secrets"] != nil {
		t.Errorf("%s: the controller must not read Secrets through the API", where)
	}
	checkCHAPRole(t, where, objs)
}

// checkCHAPRole: the only Secret access is the optional CHAP Role
// (components/chap, chart value chap.secretName): namespaced, get, and only
// on named Secrets.
func checkCHAPRole(t *testing.T, where string, objs []object) {
	for _, o := range objs {
		if o.kind() != "Role" && o.kind() != "ClusterRole" {
			continue
		}
		for _, r := range list(o, "rules") {
			if !slices.Contains(list(r, "resources"), any("secrets")) {
				continue
			}
			switch {
			case o.kind() != "Role" || o.name() != "csi-instorage-chap-secret":
				t.Errorf("%s: %s %s grants access to Secrets", where, o.kind(), o.name())
			case len(list(r, "resourceNames")) == 0:
				t.Errorf("%s: %s grants Secrets without resourceNames", where, o.name())
			case len(list(r, "verbs")) != 1 || list(r, "verbs")[0] != "get":
				t.Errorf("%s: %s grants %v on Secrets, want get only", where, o.name(), list(r, "verbs"))
			}
		}
	}
}

func findObj(objs []object, kind, name string) object {
	for _, o := range objs {
		if o.kind() == kind && o.name() == name {
			return o
		}
	}
	return nil
}

func findContainer(o object, name string) any {
	for _, c := range containers(o) {
		if str(c, "name") == name {
			return c
		}
	}
	return nil
}

func args(c any) []string {
	var out []string
	for _, a := range list(c, "args") {
		out = append(out, a.(string))
	}
	return out
}

// checkWorkloads covers CSIDriver, controller and node properties; objs must hold
// the whole base (raw or rendered).
func checkWorkloads(t *testing.T, where string, objs []object) {
	drv := findObj(objs, "CSIDriver", driverName)
	if drv == nil {
		t.Fatalf("%s: no CSIDriver %s", where, driverName)
	}
	if get(drv, "spec", "attachRequired") != true || get(drv, "spec", "podInfoOnMount") != true {
		t.Errorf("%s: CSIDriver needs attachRequired and podInfoOnMount true: %v", where, drv["spec"])
	}
	if p := str(drv, "spec", "fsGroupPolicy"); p != "File" && p != "ReadWriteOnceWithFSType" {
		t.Errorf("%s: CSIDriver fsGroupPolicy %q", where, p)
	}

	ctrl := findObj(objs, "Deployment", "csi-instorage-controller")
	if ctrl == nil {
		t.Fatalf("%s: no controller Deployment", where)
	}
	for _, sc := range []string{"csi-provisioner", "csi-attacher", "csi-snapshotter", "csi-resizer", "liveness-probe"} {
		c := findContainer(ctrl, sc)
		if c == nil {
			t.Errorf("%s: controller lacks %s", where, sc)
			continue
		}
		if sc != "liveness-probe" && !slices.Contains(args(c), "--leader-election") {
			t.Errorf("%s: %s runs without --leader-election", where, sc)
		}
	}
	if c := findContainer(ctrl, "csi-instorage"); !slices.Contains(args(c), "--mode=controller") ||
		!slices.Contains(args(c), "--driver-name="+driverName) {
		t.Errorf("%s: controller driver args %v", where, args(c))
	}
	for _, c := range containers(ctrl) {
		if get(c, "securityContext", "privileged") == true {
			t.Errorf("%s: controller container %s is privileged", where, str(c, "name"))
		}
	}
	// The driver writes aa-expansion barrier files under barrierPath's default;
	// with a read-only root filesystem that must be a volume.
	if !slices.ContainsFunc(list(findContainer(ctrl, "csi-instorage"), "volumeMounts"), func(m any) bool {
		return str(m, "mountPath") == "/var/lib/instorage-csi"
	}) {
		t.Errorf("%s: controller has no writable /var/lib/instorage-csi (barrierPath)", where)
	}
	if get(podSpec(ctrl), "securityContext", "runAsNonRoot") != true {
		t.Errorf("%s: controller pod must run as non-root", where)
	}

	node := findObj(objs, "DaemonSet", "csi-instorage-node")
	if node == nil {
		t.Fatalf("%s: no node DaemonSet", where)
	}
	plugin := findContainer(node, "csi-instorage")
	if get(plugin, "securityContext", "privileged") != true {
		t.Errorf("%s: node plugin must be privileged", where)
	}
	if a := args(plugin); !slices.Contains(a, "--mode=nodeworker") || !slices.Contains(a, "--node-id=$(NODE_NAME)") {
		t.Errorf("%s: node plugin args %v", where, a)
	}
	mounts := map[string]any{}
	for _, m := range list(plugin, "volumeMounts") {
		mounts[str(m, "mountPath")] = m
	}
	for _, p := range []string{"/dev", "/sys", "/etc/iscsi", "/var/lib/kubelet", "/csi"} {
		if mounts[p] == nil {
			t.Errorf("%s: node plugin does not mount %s", where, p)
		}
	}
	if str(mounts["/var/lib/kubelet"], "mountPropagation") != "Bidirectional" {
		t.Errorf("%s: /var/lib/kubelet must be mounted with Bidirectional propagation", where)
	}
	for _, c := range containers(node) {
		if str(c, "name") != "csi-instorage" && get(c, "securityContext", "privileged") == true {
			t.Errorf("%s: node sidecar %s is privileged", where, str(c, "name"))
		}
		for _, m := range list(c, "volumeMounts") {
			if str(m, "mountPropagation") == "Bidirectional" && str(c, "name") != "csi-instorage" {
				t.Errorf("%s: %s has Bidirectional propagation but is not privileged", where, str(c, "name"))
			}
		}
	}
	reg := findContainer(node, "node-driver-registrar")
	if !slices.Contains(args(reg), "--kubelet-registration-path=/var/lib/kubelet/plugins/"+driverName+"/csi.sock") {
		t.Errorf("%s: registrar args %v", where, args(reg))
	}
	if get(podSpec(node), "hostNetwork") != true || get(podSpec(node), "hostPID") != true {
		t.Errorf("%s: node plugin needs hostNetwork and hostPID (host iscsid via /proc/1/ns)", where)
	}
}

// Table 4-2 of the vendor manual, plus the CSI fstype key.
var scParams = map[string]bool{"devName": true, "devKind": true, "volPoolName": true, "shareProto": true,
	"volAuxPoolName": true, "volIOGrp": true, "volAuxIOGrp": true, "volThin": true, "volCompress": true,
	"volInTier": true, "volLevel": true, "volThinResize": true, "volThinGrainSize": true, "volThinWarning": true,
	"volAutoExpand": true, "csi.storage.k8s.io/fstype": true}

func checkClasses(t *testing.T, where string, objs []object) (devNames []string) {
	n := 0
	for _, o := range objs {
		switch o.kind() {
		case "StorageClass":
			n++
			if p, _ := o["provisioner"].(string); p != driverName {
				t.Errorf("%s: StorageClass %s provisioner %q", where, o.name(), p)
			}
			params, _ := o["parameters"].(map[string]any)
			for k := range params {
				if !scParams[k] {
					t.Errorf("%s: StorageClass %s: unknown parameter %q", where, o.name(), k)
				}
			}
			if params["devKind"] != "block" || params["volPoolName"] == nil {
				t.Errorf("%s: StorageClass %s needs devKind=block and volPoolName", where, o.name())
			}
			need := map[string][]string{"mirror": {"volAuxPoolName"}, "aa": {"volAuxPoolName", "volIOGrp", "volAuxIOGrp"}}
			level, _ := params["volLevel"].(string)
			for _, k := range need[level] {
				if params[k] == nil {
					t.Errorf("%s: StorageClass %s (volLevel %s) lacks %s", where, o.name(), level, k)
				}
			}
			if fsType, ok := params["csi.storage.k8s.io/fstype"].(string); ok && fsType != "ext4" && fsType != "xfs" {
				t.Errorf("%s: StorageClass %s fstype %q", where, o.name(), fsType)
			}
			if d, ok := params["devName"].(string); ok {
				devNames = append(devNames, d)
			}
		case "VolumeSnapshotClass":
			if d, _ := o["driver"].(string); d != driverName {
				t.Errorf("%s: VolumeSnapshotClass %s driver %q", where, o.name(), d)
			}
		}
	}
	if n == 0 {
		t.Errorf("%s: no StorageClass", where)
	}
	return devNames
}

func loadConfig(t *testing.T, p string) config.Config {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var c config.Config
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		t.Fatalf("%s does not match driver/pkg/config: %v", p, err)
	}
	return c
}

func TestManifests_RawFiles(t *testing.T) {
	files := manifestFiles(t)
	all := allObjects(files)
	checkImages(t, "deploy/kubernetes", all)
	var base []object
	for f, objs := range files {
		if strings.HasPrefix(f, filepath.Join("kubernetes", "base")) {
			base = append(base, objs...)
		}
	}
	checkRBAC(t, "base", base)
	checkWorkloads(t, "base", base)
	checkClasses(t, "examples", files[filepath.Join("kubernetes", "examples", "storageclass-aa.yaml")])
	checkClasses(t, "e2e-classes", files[e2eClasses])
	for _, f := range []string{"storageclass-basic-thin.yaml", "storageclass-xfs.yaml", "storageclass-mirror.yaml", "storageclass-storage-02.yaml", "volumesnapshotclass.yaml"} {
		checkClasses(t, f, append(files[filepath.Join("kubernetes", "examples", f)], files[filepath.Join("kubernetes", "examples", "storageclass-aa.yaml")]...))
	}
}

func TestInstorageYAML_MatchesConfigSchemaAndKeepsSecretsOut(t *testing.T) {
	prod := loadConfig(t, "kubernetes/overlays/production/instorage.yaml")
	demo := loadConfig(t, "kubernetes/overlays/demo/instorage.yaml")
	kindVM := loadConfig(t, "kubernetes/overlays/kind-vm/instorage.yaml")
	for name, c := range map[string]config.Config{"production": prod, "demo": demo, "kind-vm": kindVM} {
		if len(c.Storage) != 2 {
			t.Errorf("%s: want two example arrays, have %d", name, len(c.Storage))
		}
		seen := map[string]bool{}
		for _, s := range c.Storage {
			if seen[s.Name] {
				t.Errorf("%s: duplicate storage name %s", name, s.Name)
			}
			seen[s.Name] = true
			if s.Password != "" || s.Shadow != "" || s.Username != "" {
				t.Errorf("%s: %s carries credentials inline; use secretDir", name, s.Name)
			}
			if s.SecretDir == "" || s.Type != "AS18000" {
				t.Errorf("%s: %s needs secretDir and type AS18000", name, s.Name)
			}
			if name != "demo" && (s.InsecureSkipHostKeyVerify || s.KnownHostsFile == "") {
				t.Errorf("%s: %s must verify host keys via knownHostsFile", name, s.Name)
			}
		}
	}
	// Every devName a class names must be an array in the config it is deployed with.
	files := manifestFiles(t)
	for _, d := range checkClasses(t, "e2e-classes", files[e2eClasses]) {
		for name, c := range map[string]config.Config{"demo": demo, "kind-vm": kindVM} {
			if !slices.ContainsFunc(c.Storage, func(s config.Storage) bool { return s.Name == d }) {
				t.Errorf("e2e StorageClass devName %q is not in %s instorage.yaml", d, name)
			}
		}
	}
}

// e2eClasses holds the classes the e2e suite expects (component e2e-classes,
// used by the demo and kind-vm overlays).
var e2eClasses = filepath.Join("kubernetes", "components", "e2e-classes", "storageclasses.yaml")

// The kind-vm overlay reaches arrays outside the cluster: host keys pinned from
// the harness's Secret (its known_hosts key, in the secretDir mount) and the
// portals the node can reach listed explicitly.
func TestInstorageYAML_KindVMPinsHostKeysAndPortals(t *testing.T) {
	c := loadConfig(t, "kubernetes/overlays/kind-vm/instorage.yaml")
	if len(c.Storage) != 2 {
		t.Fatalf("kind-vm: want storage-01 and storage-02, have %d arrays", len(c.Storage))
	}
	for _, s := range c.Storage {
		if s.InsecureSkipHostKeyVerify || s.HostKeyFingerprint != "" || s.KnownHostsFile != s.SecretDir+"/known_hosts" {
			t.Errorf("kind-vm: %s must verify host keys with known_hosts from its secretDir, has %+v", s.Name, s)
		}
		if s.Username != "" || s.Password != "" || s.Shadow != "" {
			t.Errorf("kind-vm: %s carries credentials inline", s.Name)
		}
		if len(s.PortalTable.Default) != 2 {
			t.Errorf("kind-vm: %s needs both guest-visible portals in portalTable.default, has %v", s.Name, s.PortalTable.Default)
		}
	}
	if !c.Host.ForceUseMultipath || c.Host.HostCommandTimeout < 120 {
		t.Errorf("kind-vm: want multipath and a long host command timeout for a TCG guest, have %+v", c.Host)
	}
	// The chart's kind-vm values must describe the same configuration.
	data, err := os.ReadFile("helm/instorage-csi/values-kind-vm.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var values struct {
		Config json.RawMessage `json:"config"`
	}
	if err := yaml.Unmarshal(data, &values); err != nil {
		t.Fatal(err)
	}
	var h config.Config
	if err := yaml.UnmarshalStrict(values.Config, &h); err != nil {
		t.Fatalf("values-kind-vm.yaml config does not match driver/pkg/config: %v", err)
	}
	if !reflect.DeepEqual(c, h) {
		t.Errorf("values-kind-vm.yaml config differs from overlays/kind-vm/instorage.yaml:\n chart   %+v\n overlay %+v", h, c)
	}
}

// render runs a renderer binary named by an environment variable.
func render(t *testing.T, env string, argv ...string) []object {
	t.Helper()
	bin := os.Getenv(env)
	if bin == "" {
		t.Skipf("%s not set: rendering needs the binary (make e2e builds kubectl and helm into .cache)", env)
	}
	var out, errb bytes.Buffer
	cmd := exec.Command(bin, argv...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %v: %v\n%s", bin, argv, err, errb.String())
	}
	return splitDocs(t, strings.Join(argv, " "), out.Bytes())
}

func TestManifests_RenderedOverlays(t *testing.T) {
	// Secrets each overlay documents as created out of band (never in git).
	outOfBand := map[string][]string{
		"production": {"csi-instorage-storage-01", "csi-instorage-storage-02", "csi-instorage-known-hosts"},
		"kind-vm":    {"mcs-emulator-credentials"},
	}
	for _, overlay := range []string{"production", "demo", "offline", "kind-vm"} {
		t.Run(overlay, func(t *testing.T) {
			objs := render(t, "KUBECTL", "kustomize", filepath.Join("kubernetes", "overlays", overlay))
			checkWorkloads(t, overlay, objs)
			checkRBAC(t, overlay, objs)
			checkImages(t, overlay, objs)
			if overlay != "production" {
				checkClasses(t, overlay, objs)
			}
			checkHostExec(t, overlay, objs, overlay == "kind-vm")
			// Every ConfigMap/Secret the pods use must be part of the overlay (or one
			// of its documented out-of-band Secrets, which it must then not generate).
			for _, o := range objs {
				for _, v := range list(podSpec(o), "volumes") {
					if n := str(v, "configMap", "name"); n != "" && findObj(objs, "ConfigMap", n) == nil {
						t.Errorf("%s: %s uses missing ConfigMap %s", overlay, o.name(), n)
					}
					if n := str(v, "secret", "secretName"); n != "" && findObj(objs, "Secret", n) == nil && !slices.Contains(outOfBand[overlay], n) {
						t.Errorf("%s: %s uses missing Secret %s", overlay, o.name(), n)
					}
				}
			}
			for _, n := range outOfBand[overlay] {
				if findObj(objs, "Secret", n) != nil {
					t.Errorf("%s: Secret %s is created out of band, the overlay must not generate it", overlay, n)
				}
			}
			if overlay == "kind-vm" {
				if findObj(objs, "StatefulSet", "mcs-emulator") != nil {
					t.Error("kind-vm: the arrays run outside the cluster; no emulator StatefulSet")
				}
				// The suite's classes, as in the demo (mirror/aa need the two-site preset).
				for _, o := range render(t, "KUBECTL", "kustomize", filepath.Join("kubernetes", "overlays", "demo")) {
					if (o.kind() == "StorageClass" || o.kind() == "VolumeSnapshotClass") && findObj(objs, o.kind(), o.name()) == nil {
						t.Errorf("kind-vm lacks demo's %s %s", o.kind(), o.name())
					}
				}
				checkOfflineImages(t, overlay, objs)
			}
			if overlay == "offline" {
				checkOfflineImages(t, overlay, objs)
			}
			if overlay == "demo" || overlay == "offline" {
				checkEmulatorIdentity(t, overlay, objs)
			}
		})
	}
}

// checkEmulatorIdentity: replicas of the in-cluster emulator are separate arrays
// that the same nodes log in to, so each needs its own cluster name (target IQNs)
// and cluster id (every vdisk_UID, hence the multipath WWID): the pod name and
// "auto". With the preset's on every replica, vdisks of the same serial on two
// arrays would share a WWID and multipathd would merge them into one map.
func checkEmulatorIdentity(t *testing.T, where string, objs []object) {
	o := findObj(objs, "StatefulSet", "mcs-emulator")
	if o == nil {
		t.Errorf("%s: no emulator StatefulSet", where)
		return
	}
	c := findContainer(o, "mcs-emulator")
	var args []string
	for _, a := range list(c, "args") {
		s, _ := a.(string)
		args = append(args, s)
	}
	if !slices.Contains(args, "--cluster-id=auto") {
		t.Errorf("%s: emulator args %q lack --cluster-id=auto", where, args)
	}
	named := false
	for _, e := range list(c, "env") {
		if str(e, "valueFrom", "fieldRef", "fieldPath") == "metadata.name" &&
			slices.Contains(args, "--cluster-name=$("+str(e, "name")+")") {
			named = true
		}
	}
	if !named {
		t.Errorf("%s: emulator args %q do not set --cluster-name from the pod name", where, args)
	}
}

// hostPathOf is the hostPath behind the plugin container's mount at mountPath.
func hostPathOf(o object, container, mountPath string) string {
	var vol string
	for _, m := range list(findContainer(o, container), "volumeMounts") {
		if str(m, "mountPath") == mountPath {
			vol = str(m, "name")
		}
	}
	for _, v := range list(podSpec(o), "volumes") {
		if vol != "" && str(v, "name") == vol {
			return str(v, "hostPath", "path")
		}
	}
	return ""
}

// checkHostExec: in nsenter mode (kind nodes) the plugin enters the host's
// namespaces through the host's /proc at /host/proc and uses the host's live
// /dev from the node's /host/dev; otherwise it runs iscsiadm itself with the
// node's /dev.
func checkHostExec(t *testing.T, where string, objs []object, nsenter bool) {
	t.Helper()
	node := findObj(objs, "DaemonSet", "csi-instorage-node")
	a := args(findContainer(node, "csi-instorage"))
	hasFlags := slices.Contains(a, "--host-exec=nsenter") && slices.Contains(a, "--host-proc=/host/proc")
	switch {
	case nsenter && !hasFlags:
		t.Errorf("%s: node plugin lacks --host-exec=nsenter --host-proc=/host/proc: %v", where, a)
	case !nsenter && slices.ContainsFunc(a, func(s string) bool { return strings.HasPrefix(s, "--host-exec") }):
		t.Errorf("%s: node plugin runs in host-exec mode: %v", where, a)
	}
	wantProc, wantDev := "", "/dev"
	if nsenter {
		wantProc, wantDev = "/host/proc", "/host/dev"
	}
	if p := hostPathOf(node, "csi-instorage", "/host/proc"); p != wantProc {
		t.Errorf("%s: node plugin /host/proc from hostPath %q, want %q", where, p, wantProc)
	}
	if p := hostPathOf(node, "csi-instorage", "/dev"); p != wantDev {
		t.Errorf("%s: node plugin /dev from hostPath %q, want %q", where, p, wantDev)
	}
}

// checkOfflineImages: nothing from registry.k8s.io that cannot be built offline,
// and the project's images at their locally built :dev tag.
func checkOfflineImages(t *testing.T, where string, objs []object) {
	t.Helper()
	for _, o := range objs {
		for _, c := range containers(o) {
			img := str(c, "image")
			if strings.Contains(img, "node-driver-registrar:") || strings.Contains(img, "/livenessprobe:") {
				t.Errorf("%s: %s/%s uses %s, which has no offline build; want the -lite image", where, o.name(), str(c, "name"), img)
			}
			if strings.HasPrefix(img, "ghcr.io/instorage-csi/") && !strings.HasSuffix(img, ":dev") {
				t.Errorf("%s: %s/%s uses %s, want the locally built :dev tag", where, o.name(), str(c, "name"), img)
			}
		}
	}
}

func TestHelmChart_RendersSameProperties(t *testing.T) {
	if _, err := os.Stat("helm/instorage-csi/Chart.yaml"); err != nil {
		t.Fatalf("Helm chart missing: %v", err)
	}
	objs := render(t, "HELM", "template", "csi", "helm/instorage-csi", "--namespace", "instorage-csi", "--kube-version", "1.37.0")
	checkWorkloads(t, "helm", objs)
	checkRBAC(t, "helm", objs)
	checkImages(t, "helm", objs)
	checkClasses(t, "helm", objs)
	if os.Getenv("KUBECTL") != "" {
		sameContent(t, render(t, "KUBECTL", "kustomize", "kubernetes/overlays/production"), objs, "production")
	}
	demo := render(t, "HELM", "template", "csi", "helm/instorage-csi", "--namespace", "instorage-csi", "--kube-version", "1.37.0",
		"-f", "helm/instorage-csi/values-demo.yaml")
	checkEmulatorIdentity(t, "helm demo", demo)
	if os.Getenv("KUBECTL") != "" {
		sameContent(t, render(t, "KUBECTL", "kustomize", "kubernetes/overlays/demo"), demo, "demo")
	}
	checkHostExec(t, "helm", objs, false)
	checkHostExec(t, "helm demo", demo, false)
	kindVM := render(t, "HELM", "template", "csi", "helm/instorage-csi", "--namespace", "instorage-csi", "--kube-version", "1.37.0",
		"-f", "helm/instorage-csi/values-kind-vm.yaml")
	checkWorkloads(t, "helm kind-vm", kindVM)
	checkImages(t, "helm kind-vm", kindVM)
	checkClasses(t, "helm kind-vm", kindVM)
	checkHostExec(t, "helm kind-vm", kindVM, true)
	checkOfflineImages(t, "helm kind-vm", kindVM)
	if findObj(kindVM, "StatefulSet", "mcs-emulator") != nil || findObj(kindVM, "Secret", "mcs-emulator-credentials") != nil {
		t.Error("helm kind-vm values deploy an emulator or generate its Secret; both live outside the cluster")
	}
	if os.Getenv("KUBECTL") != "" {
		sameContent(t, render(t, "KUBECTL", "kustomize", "kubernetes/overlays/kind-vm"), kindVM, "kind-vm")
	}
}

// sameContent checks the chart renders the overlay's workloads: same containers,
// images, args and mounts (object names aside from kustomize's hash suffixes).
func sameContent(t *testing.T, kust, helm []object, what string) {
	t.Helper()
	for _, k := range kust {
		if podSpec(k) == nil {
			continue
		}
		h := findObj(helm, k.kind(), k.name())
		if h == nil {
			t.Errorf("%s: chart lacks %s %s", what, k.kind(), k.name())
			continue
		}
		for _, kc := range containers(k) {
			hc := findContainer(h, str(kc, "name"))
			if hc == nil {
				t.Errorf("%s: chart's %s lacks container %s", what, k.name(), str(kc, "name"))
				continue
			}
			if str(kc, "image") != str(hc, "image") || !slices.Equal(args(kc), args(hc)) {
				t.Errorf("%s: %s/%s differs:\n kustomize %s %v\n helm      %s %v", what, k.name(), str(kc, "name"),
					str(kc, "image"), args(kc), str(hc, "image"), args(hc))
			}
			var km, hm []string
			for _, m := range list(kc, "volumeMounts") {
				km = append(km, str(m, "mountPath"))
			}
			for _, m := range list(hc, "volumeMounts") {
				hm = append(hm, str(m, "mountPath"))
			}
			sort.Strings(km)
			sort.Strings(hm)
			if !slices.Equal(km, hm) {
				t.Errorf("%s: %s/%s mounts differ: kustomize %v, helm %v", what, k.name(), str(kc, "name"), km, hm)
			}
			// And from the same host directories (kind-vm's /host/proc, /host/dev).
			for _, p := range km {
				if kp, hp := hostPathOf(k, str(kc, "name"), p), hostPathOf(h, str(kc, "name"), p); kp != hp {
					t.Errorf("%s: %s/%s mount %s: hostPath %q in kustomize, %q in helm", what, k.name(), str(kc, "name"), p, kp, hp)
				}
			}
		}
	}
	for _, kind := range []string{"StorageClass", "VolumeSnapshotClass", "ClusterRole", "CSIDriver"} {
		for _, k := range kust {
			if k.kind() == kind && findObj(helm, kind, k.name()) == nil {
				t.Errorf("%s: chart lacks %s %s", what, kind, k.name())
			}
		}
	}
}

// TestInstorageYAML_LoadsAsTheDriverDoes loads every shipped instorage.yaml with
// the driver's own loader: the node plugin's LoadHostOnly as is (it has no
// Secrets), and the controller's Load with the Secrets the manifests mount
// (secretDir files username/password, knownHostsFile) placed in a temp dir.
func TestInstorageYAML_LoadsAsTheDriverDoes(t *testing.T) {
	for _, overlay := range []string{"production", "demo", "kind-vm"} {
		t.Run(overlay, func(t *testing.T) {
			src := filepath.Join("kubernetes", "overlays", overlay, "instorage.yaml")
			data, err := os.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := config.LoadHostOnly(src); err != nil {
				t.Errorf("node plugin cannot load %s: %v", src, err)
			}
			c, err := config.Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			// Mount points as in the pod, re-rooted under a temp dir.
			root := t.TempDir()
			var paths []string
			for _, s := range c.Storage {
				for _, p := range []string{s.SecretDir, s.KnownHostsFile} {
					if p != "" && !slices.Contains(paths, p) {
						paths = append(paths, p)
					}
				}
			}
			// Longest first, one pass: a path inside another is not re-rooted twice.
			sort.Slice(paths, func(i, j int) bool { return len(paths[i]) > len(paths[j]) })
			var pairs []string
			for _, p := range paths {
				pairs = append(pairs, p, filepath.Join(root, p))
			}
			text := strings.NewReplacer(pairs...).Replace(string(data))
			for _, s := range c.Storage {
				dir := filepath.Join(root, s.SecretDir)
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				for name, v := range map[string]string{"username": "csiuser\n", "password": "not-a-real-passw0rd\n"} {
					if err := os.WriteFile(filepath.Join(dir, name), []byte(v), 0o600); err != nil {
						t.Fatal(err)
					}
				}
				if s.KnownHostsFile != "" {
					kh := filepath.Join(root, s.KnownHostsFile)
					if err := os.MkdirAll(filepath.Dir(kh), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(kh, nil, 0o600); err != nil {
						t.Fatal(err)
					}
				}
			}
			cfg := filepath.Join(root, "instorage.yaml")
			if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
				t.Fatal(err)
			}
			loaded, err := config.Load(cfg)
			if err != nil {
				t.Fatalf("controller cannot load %s with its Secrets mounted: %v", src, err)
			}
			for _, s := range loaded.Storage {
				if s.Username != "csiuser" || s.Password != "not-a-real-passw0rd" {
					t.Errorf("%s: credentials not read from secretDir %s", s.Name, s.SecretDir)
				}
			}
		})
	}
}
