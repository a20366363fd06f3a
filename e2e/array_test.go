package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"

	"github.com/instorage-csi/instorage-csi/driver/pkg/array"
)

// arrayView is one array the suite inspects with the driver's own array client
// (the array's SSH CLI): reached directly at HOST:PORT with the host key
// checked against -array-known-hosts, or, for an in-cluster emulator pod,
// through a port-forward with the key pinned to the fingerprint the emulator
// prints for its state directory.
type arrayView struct {
	name   string
	client array.Client
	close  func()
}

// arrayState is what must not leak: vdisks, host mappings and LocalCopy maps.
type arrayState struct {
	VDisks   []string
	HostMaps []string // host/vdisk
	LCMaps   []string // source->target
}

func (c *cluster) connectArrays(ctx context.Context) []*arrayView {
	GinkgoHelper()
	eps, err := parseArrays(opts.arrays)
	Expect(err).NotTo(HaveOccurred())
	var direct *directAccess
	var user, password string
	var out []*arrayView
	for _, ep := range eps {
		if ep.addr != "" {
			if direct == nil {
				d, err := loadDirectAccess(opts.arrayUser, opts.arrayPasswordFile, opts.arrayKnownHosts)
				Expect(err).NotTo(HaveOccurred())
				direct = &d
			}
			cli, err := dialDirect(ctx, ep.name, ep.addr, *direct)
			Expect(err).NotTo(HaveOccurred(), "array %s at %s", ep.name, ep.addr)
			GinkgoWriter.Printf("array %s: %s over SSH (host key from %s)\n", ep.name, ep.addr, opts.arrayKnownHosts)
			out = append(out, &arrayView{name: ep.name, client: cli, close: func() { _ = cli.Close() }})
			continue
		}
		if user == "" {
			user, password = c.arrayCredentials(ctx)
		}
		fp, err := c.execIn(ctx, opts.driverNamespace, ep.pod, "mcs-emulator",
			opts.emulatorBinary, "fingerprint", "--state-dir="+opts.emulatorState)
		Expect(err).NotTo(HaveOccurred(), "host key fingerprint of %s", ep.pod)
		cb, err := array.FingerprintHostKeyCallback(strings.TrimSpace(fp))
		Expect(err).NotTo(HaveOccurred())
		addr, stop := c.portForward(ctx, opts.driverNamespace, ep.pod, 2222)
		tr, err := array.NewSSHTransport(array.SSHOptions{Addr: addr, User: user, Password: password,
			HostKeyCallback: cb, ArrayName: ep.name, MaxConns: 1})
		Expect(err).NotTo(HaveOccurred())
		cli := array.NewCLI(tr, array.WithCommandTimeout(30*time.Second))
		_, err = cli.LsSystem(ctx)
		Expect(err).NotTo(HaveOccurred(), "lssystem on %s through %s", ep.name, addr)
		out = append(out, &arrayView{name: ep.name, client: cli, close: func() { _ = cli.Close(); stop() }})
	}
	return out
}

// arrayCredentials reads the CLI account of in-cluster emulators from the demo's Secret.
func (c *cluster) arrayCredentials(ctx context.Context) (string, string) {
	GinkgoHelper()
	secrets, err := c.cs.CoreV1().Secrets(opts.driverNamespace).List(ctx, metav1.ListOptions{})
	Expect(err).NotTo(HaveOccurred())
	for _, s := range secrets.Items {
		if s.Name == opts.arraySecret || (opts.arraySecret == "" && strings.HasPrefix(s.Name, "mcs-emulator-credentials")) {
			return string(s.Data["username"]), string(s.Data["password"])
		}
	}
	Fail(fmt.Sprintf("no array credentials Secret %q in %s", opts.arraySecret, opts.driverNamespace))
	return "", ""
}

// portForward forwards a free local port to the pod's port; stop ends it.
func (c *cluster) portForward(ctx context.Context, ns, pod string, port int) (string, func()) {
	GinkgoHelper()
	req := c.cs.CoreV1().RESTClient().Post().Resource("pods").Namespace(ns).Name(pod).SubResource("portforward")
	rt, upgrader, err := spdy.RoundTripperFor(c.cfg)
	Expect(err).NotTo(HaveOccurred())
	dialer := spdy.NewDialer(upgrader, &http.Client{Transport: rt}, http.MethodPost, req.URL())
	stopCh, readyCh := make(chan struct{}), make(chan struct{})
	fw, err := portforward.NewOnAddresses(dialer, []string{"127.0.0.1"}, []string{fmt.Sprintf("0:%d", port)},
		stopCh, readyCh, io.Discard, GinkgoWriter)
	Expect(err).NotTo(HaveOccurred())
	errCh := make(chan error, 1)
	go func() { errCh <- fw.ForwardPorts() }()
	select {
	case <-readyCh:
	case err := <-errCh:
		Fail(fmt.Sprintf("port-forward to %s/%s: %v", ns, pod, err))
	case <-time.After(30 * time.Second):
		Fail(fmt.Sprintf("port-forward to %s/%s not ready in 30s", ns, pod))
	}
	ports, err := fw.GetPorts()
	Expect(err).NotTo(HaveOccurred())
	return fmt.Sprintf("127.0.0.1:%d", ports[0].Local), func() { close(stopCh) }
}

func (a *arrayView) state(ctx context.Context) (arrayState, error) {
	var st arrayState
	vds, err := a.client.LsVDisks(ctx, nil)
	if err != nil {
		return st, err
	}
	for _, v := range vds {
		st.VDisks = append(st.VDisks, v.Name)
	}
	hosts, err := a.client.LsHosts(ctx)
	if err != nil {
		return st, err
	}
	for _, h := range hosts {
		maps, err := a.client.LsHostVDiskMap(ctx, h.Name)
		if err != nil {
			return st, err
		}
		for _, m := range maps {
			st.HostMaps = append(st.HostMaps, h.Name+"/"+m.VDiskName)
		}
	}
	lcs, err := a.client.LsLCMaps(ctx, nil)
	if err != nil {
		return st, err
	}
	for _, l := range lcs {
		st.LCMaps = append(st.LCMaps, l.SourceName+"->"+l.TargetName)
	}
	sort.Strings(st.VDisks)
	sort.Strings(st.HostMaps)
	sort.Strings(st.LCMaps)
	return st, nil
}

// added lists what is in now but not in before.
func added(before, now []string) []string {
	var out []string
	for _, s := range now {
		if !slices.Contains(before, s) {
			out = append(out, s)
		}
	}
	return out
}

// expectNoLeaks waits until every array is back to its state before the spec.
func expectNoLeaks(ctx context.Context, arrays []*arrayView, before map[string]arrayState) {
	GinkgoHelper()
	for _, a := range arrays {
		Eventually(ctx, func(g Gomega) {
			now, err := a.state(ctx)
			g.Expect(err).NotTo(HaveOccurred())
			b := before[a.name]
			g.Expect(added(b.VDisks, now.VDisks)).To(BeEmpty(), "leaked vdisks on %s", a.name)
			g.Expect(added(b.HostMaps, now.HostMaps)).To(BeEmpty(), "leaked host mappings on %s", a.name)
			g.Expect(added(b.LCMaps, now.LCMaps)).To(BeEmpty(), "leaked LocalCopy maps on %s", a.name)
		}).WithTimeout(opts.timeout).WithPolling(3 * time.Second).Should(Succeed())
	}
}

// findVDisk is the vdisk behind a PV: the driver names vdisks after the PV
// (vendor manual figure 4-1) and its volume handle carries the name or UID.
func findVDisk(ctx context.Context, a *arrayView, pvName, handle string) (array.VDisk, bool) {
	GinkgoHelper()
	vds, err := a.client.LsVDisks(ctx, nil)
	Expect(err).NotTo(HaveOccurred())
	for _, v := range vds {
		if v.Name == pvName || strings.Contains(handle, v.Name) || (v.UID != "" && strings.Contains(strings.ToUpper(handle), v.UID)) {
			return v, true
		}
	}
	return array.VDisk{}, false
}

func arrayNamed(arrays []*arrayView, name string) *arrayView {
	GinkgoHelper()
	for _, a := range arrays {
		if a.name == name {
			return a
		}
	}
	Fail("no array " + name + " in -arrays")
	return nil
}
