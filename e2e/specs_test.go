package e2e

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

var (
	kube   *cluster
	arrays []*arrayView
)

var _ = SynchronizedBeforeSuite(func(ctx SpecContext) []byte {
	return nil
}, func(ctx SpecContext, _ []byte) {
	var err error
	kube, err = newCluster(opts.kubeconfig)
	Expect(err).NotTo(HaveOccurred())
	drv, err := kube.cs.StorageV1().CSIDrivers().Get(ctx, opts.driverName, metav1.GetOptions{})
	Expect(err).NotTo(HaveOccurred(), "CSIDriver %s: is the driver deployed?", opts.driverName)
	Expect(drv.Spec.AttachRequired).To(HaveValue(BeTrue()))
	if !opts.skipArrayChecks {
		arrays = kube.connectArrays(ctx)
	}
})

var _ = SynchronizedAfterSuite(func() {
	for _, a := range arrays {
		a.close()
	}
}, func() {})

// specEnv is one spec's namespace plus the arrays' state before it ran.
type specEnv struct {
	ns     string
	before map[string]arrayState
}

// newSpecEnv creates a namespace and records the arrays; cleanup deletes the
// namespace, waits for its PVs and snapshot contents, then checks for leaks.
func newSpecEnv(ctx SpecContext) *specEnv {
	GinkgoHelper()
	e := &specEnv{before: map[string]arrayState{}}
	for _, a := range arrays {
		st, err := a.state(ctx)
		Expect(err).NotTo(HaveOccurred(), "state of %s", a.name)
		e.before[a.name] = st
	}
	ns, err := kube.cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		GenerateName: "instorage-e2e-",
		Labels:       map[string]string{"pod-security.kubernetes.io/enforce": "baseline"},
	}}, metav1.CreateOptions{})
	Expect(err).NotTo(HaveOccurred())
	e.ns = ns.Name
	DeferCleanup(func(ctx SpecContext) {
		kube.teardownNamespace(ctx, e.ns)
		if len(arrays) > 0 {
			expectNoLeaks(ctx, arrays, e.before)
		}
	}, NodeTimeout(2*opts.timeout))
	return e
}

var _ = Describe("Dynamic provisioning", Label("datapath"), func() {
	DescribeTable("writes and reads back data",
		func(ctx SpecContext, class func() string, block bool, wantFS string) {
			e := newSpecEnv(ctx)
			kube.createPVC(ctx, e.ns, pvcSpec{name: "vol", class: class(), size: "1Gi", block: block})
			kube.waitBound(ctx, e.ns, "vol")
			kube.runPod(ctx, e.ns, "app", "", volume{claim: "vol", block: block})
			sum := kube.writeData(ctx, e.ns, "app", block, "f")
			Expect(kube.readData(ctx, e.ns, "app", block, "f")).To(Equal(sum))
			if wantFS != "" {
				Expect(kube.sh(ctx, e.ns, "app", "stat -f -c %T "+mountPath)).To(Equal(wantFS))
			} else {
				Expect(kube.sh(ctx, e.ns, "app", "[ -b "+devicePath+" ] && echo block")).To(Equal("block"))
			}
		},
		Entry("ext4 filesystem", Label("smoke"), func() string { return opts.classBasic }, false, "ext2/ext3"),
		Entry("xfs filesystem", func() string { return opts.classXFS }, false, "xfs"),
		Entry("raw block", func() string { return opts.classBasic }, true, ""),
	)
})

var _ = Describe("Access modes", Label("datapath"), func() {
	It("shares a raw block ReadWriteMany volume between two pods", func(ctx SpecContext) {
		e := newSpecEnv(ctx)
		kube.createPVC(ctx, e.ns, pvcSpec{name: "vol", class: opts.classBasic, size: "1Gi", block: true, access: corev1.ReadWriteMany})
		kube.waitBound(ctx, e.ns, "vol")
		a := kube.runPod(ctx, e.ns, "writer", "", volume{claim: "vol", block: true})
		sum := kube.writeData(ctx, e.ns, "writer", true, "f")
		kube.runPod(ctx, e.ns, "reader", "!"+a.Spec.NodeName, volume{claim: "vol", block: true})
		Expect(kube.readData(ctx, e.ns, "reader", true, "f")).To(Equal(sum))
	})

	It("mounts a ReadOnlyMany raw block volume read-only", func(ctx SpecContext) {
		e := newSpecEnv(ctx)
		kube.createPVC(ctx, e.ns, pvcSpec{name: "src", class: opts.classBasic, size: "1Gi", block: true})
		kube.waitBound(ctx, e.ns, "src")
		kube.runPod(ctx, e.ns, "seed", "", volume{claim: "src", block: true})
		sum := kube.writeData(ctx, e.ns, "seed", true, "f")
		kube.deletePod(ctx, e.ns, "seed")
		// ROX needs pre-populated content: clone the seeded volume into a ROX claim.
		kube.createPVC(ctx, e.ns, pvcSpec{name: "rox", class: opts.classBasic, size: "1Gi", block: true,
			access: corev1.ReadOnlyMany, source: &corev1.TypedLocalObjectReference{Kind: "PersistentVolumeClaim", Name: "src"}})
		kube.waitBound(ctx, e.ns, "rox")
		kube.runPod(ctx, e.ns, "r1", "", volume{claim: "rox", block: true, readOnly: true})
		kube.runPod(ctx, e.ns, "r2", "", volume{claim: "rox", block: true, readOnly: true})
		Expect(kube.readData(ctx, e.ns, "r1", true, "f")).To(Equal(sum))
		Expect(kube.readData(ctx, e.ns, "r2", true, "f")).To(Equal(sum))
		_, err := kube.exec(ctx, e.ns, "r1", "sh", "-c", "dd if=/dev/zero of="+devicePath+" bs=4k count=1 conv=fsync")
		Expect(err).To(HaveOccurred(), "a write to a read-only block volume succeeded")
	})

	It("mounts a ReadWriteOnce filesystem read-only when the pod asks", func(ctx SpecContext) {
		e := newSpecEnv(ctx)
		kube.createPVC(ctx, e.ns, pvcSpec{name: "vol", class: opts.classBasic, size: "1Gi"})
		kube.waitBound(ctx, e.ns, "vol")
		kube.runPod(ctx, e.ns, "w", "", volume{claim: "vol"})
		sum := kube.writeData(ctx, e.ns, "w", false, "f")
		kube.deletePod(ctx, e.ns, "w")
		kube.runPod(ctx, e.ns, "r", "", volume{claim: "vol", readOnly: true})
		Expect(kube.readData(ctx, e.ns, "r", false, "f")).To(Equal(sum))
		_, err := kube.exec(ctx, e.ns, "r", "touch", mountPath+"/x")
		Expect(err).To(HaveOccurred(), "write to a read-only mount succeeded")
	})
})

var _ = Describe("Data persistence", Label("datapath"), func() {
	It("keeps data across pod deletion and rescheduling", func(ctx SpecContext) {
		e := newSpecEnv(ctx)
		kube.createPVC(ctx, e.ns, pvcSpec{name: "vol", class: opts.classBasic, size: "1Gi"})
		kube.waitBound(ctx, e.ns, "vol")
		first := kube.runPod(ctx, e.ns, "one", "", volume{claim: "vol"})
		sum := kube.writeData(ctx, e.ns, "one", false, "f")
		kube.deletePod(ctx, e.ns, "one")
		// Prefer another node, so detach from the first and attach to the second are both exercised.
		kube.runPod(ctx, e.ns, "two", "!"+first.Spec.NodeName, volume{claim: "vol"})
		Expect(kube.readData(ctx, e.ns, "two", false, "f")).To(Equal(sum))
	})
})

var _ = Describe("Snapshots and clones", Label("datapath"), func() {
	It("restores a snapshot with the data it was taken with", Label("smoke"), func(ctx SpecContext) {
		e := newSpecEnv(ctx)
		kube.createPVC(ctx, e.ns, pvcSpec{name: "src", class: opts.classBasic, size: "1Gi"})
		kube.waitBound(ctx, e.ns, "src")
		kube.runPod(ctx, e.ns, "app", "", volume{claim: "src"})
		sum := kube.writeData(ctx, e.ns, "app", false, "f")
		kube.sh(ctx, e.ns, "app", "sync")
		kube.snapshot(ctx, e.ns, "snap", "src")
		// Data written after the snapshot must not show up in the restore.
		kube.sh(ctx, e.ns, "app", "echo later > "+mountPath+"/after && sync")
		kube.createPVC(ctx, e.ns, pvcSpec{name: "restored", class: opts.classBasic, size: "1Gi",
			source: &corev1.TypedLocalObjectReference{APIGroup: ptr.To("snapshot.storage.k8s.io"), Kind: "VolumeSnapshot", Name: "snap"}})
		kube.waitBound(ctx, e.ns, "restored")
		kube.runPod(ctx, e.ns, "check", "", volume{claim: "restored"})
		Expect(kube.readData(ctx, e.ns, "check", false, "f")).To(Equal(sum))
		Expect(kube.sh(ctx, e.ns, "check", "[ -e "+mountPath+"/after ] && echo present || echo absent")).To(Equal("absent"))
	})

	It("clones a volume with its data", func(ctx SpecContext) {
		e := newSpecEnv(ctx)
		kube.createPVC(ctx, e.ns, pvcSpec{name: "src", class: opts.classBasic, size: "1Gi"})
		kube.waitBound(ctx, e.ns, "src")
		kube.runPod(ctx, e.ns, "app", "", volume{claim: "src"})
		sum := kube.writeData(ctx, e.ns, "app", false, "f")
		kube.deletePod(ctx, e.ns, "app")
		kube.createPVC(ctx, e.ns, pvcSpec{name: "clone", class: opts.classBasic, size: "1Gi",
			source: &corev1.TypedLocalObjectReference{Kind: "PersistentVolumeClaim", Name: "src"}})
		kube.waitBound(ctx, e.ns, "clone")
		kube.runPod(ctx, e.ns, "check", "", volume{claim: "clone"})
		Expect(kube.readData(ctx, e.ns, "check", false, "f")).To(Equal(sum))
	})
})

var _ = Describe("Expansion", Label("datapath"), func() {
	It("expands offline: the next pod sees the bigger filesystem", func(ctx SpecContext) {
		e := newSpecEnv(ctx)
		kube.createPVC(ctx, e.ns, pvcSpec{name: "vol", class: opts.classBasic, size: "1Gi"})
		_, pv := kube.waitBound(ctx, e.ns, "vol")
		kube.runPod(ctx, e.ns, "app", "", volume{claim: "vol"})
		sum := kube.writeData(ctx, e.ns, "app", false, "f")
		before := kube.fsSizeKiB(ctx, e.ns, "app")
		kube.deletePod(ctx, e.ns, "app")
		kube.expandPVC(ctx, e.ns, "vol", "2Gi")
		kube.waitPVSize(ctx, pv.Name, "2Gi")
		kube.runPod(ctx, e.ns, "app2", "", volume{claim: "vol"})
		Eventually(ctx, func() (int64, error) { return kube.tryFsSizeKiB(ctx, e.ns, "app2") }).
			WithTimeout(opts.timeout).WithPolling(2*time.Second).Should(BeNumerically(">", before+512*1024), "filesystem not grown")
		Expect(kube.readData(ctx, e.ns, "app2", false, "f")).To(Equal(sum))
	})

	DescribeTable("expands online while the pod writes",
		func(ctx SpecContext, class func() string) {
			e := newSpecEnv(ctx)
			kube.createPVC(ctx, e.ns, pvcSpec{name: "vol", class: class(), size: "1Gi"})
			_, pv := kube.waitBound(ctx, e.ns, "vol")
			kube.runPod(ctx, e.ns, "app", "", volume{claim: "vol"})
			sum := kube.writeData(ctx, e.ns, "app", false, "f")
			before := kube.fsSizeKiB(ctx, e.ns, "app")
			kube.expandPVC(ctx, e.ns, "vol", "2Gi")
			kube.waitPVSize(ctx, pv.Name, "2Gi")
			Eventually(ctx, func() (int64, error) { return kube.tryFsSizeKiB(ctx, e.ns, "app") }).
				WithTimeout(opts.timeout).WithPolling(2*time.Second).Should(BeNumerically(">", before+512*1024), "filesystem not grown online")
			Expect(kube.readData(ctx, e.ns, "app", false, "f")).To(Equal(sum))
		},
		Entry("basic thin vdisk", Label("smoke"), func() string { return opts.classBasic }),
		Entry("active-active volume (manual §6.2)", func() string { return opts.classAA }),
	)
})

var _ = Describe("Volume levels and arrays", Label("datapath"), func() {
	It("creates a mirror vdisk with two copies", func(ctx SpecContext) {
		e := newSpecEnv(ctx)
		kube.createPVC(ctx, e.ns, pvcSpec{name: "vol", class: opts.classMirror, size: "1Gi"})
		_, pv := kube.waitBound(ctx, e.ns, "vol")
		if len(arrays) > 0 {
			a := arrayNamed(arrays, "storage-01")
			vd, ok := findVDisk(ctx, a, pv.Name, pv.Spec.CSI.VolumeHandle)
			Expect(ok).To(BeTrue(), "no vdisk for %s on %s", pv.Name, a.name)
			Expect(vd.CopyCount).To(Equal(2), "mirror vdisk copies")
		}
		kube.runPod(ctx, e.ns, "app", "", volume{claim: "vol"})
		sum := kube.writeData(ctx, e.ns, "app", false, "f")
		Expect(kube.readData(ctx, e.ns, "app", false, "f")).To(Equal(sum))
	})

	It("creates an active-active volume across both sites", func(ctx SpecContext) {
		e := newSpecEnv(ctx)
		kube.createPVC(ctx, e.ns, pvcSpec{name: "vol", class: opts.classAA, size: "1Gi"})
		_, pv := kube.waitBound(ctx, e.ns, "vol")
		if len(arrays) > 0 {
			a := arrayNamed(arrays, "storage-01")
			vd, ok := findVDisk(ctx, a, pv.Name, pv.Spec.CSI.VolumeHandle)
			Expect(ok).To(BeTrue(), "no vdisk for %s on %s", pv.Name, a.name)
			Expect(vd.RCName).NotTo(BeEmpty(), "active-active vdisk %s has no rcrelationship", vd.Name)
			rcs, err := a.client.LsRCRelationships(ctx, nil)
			Expect(err).NotTo(HaveOccurred())
			Expect(rcs).To(ContainElement(HaveField("Name", vd.RCName)))
		}
		kube.runPod(ctx, e.ns, "app", "", volume{claim: "vol"})
		sum := kube.writeData(ctx, e.ns, "app", false, "f")
		Expect(kube.readData(ctx, e.ns, "app", false, "f")).To(Equal(sum))
	})

	It("provisions on the array named by devName", func(ctx SpecContext) {
		e := newSpecEnv(ctx)
		kube.createPVC(ctx, e.ns, pvcSpec{name: "vol", class: opts.classSecondDev, size: "1Gi"})
		_, pv := kube.waitBound(ctx, e.ns, "vol")
		if len(arrays) > 1 {
			_, onSecond := findVDisk(ctx, arrayNamed(arrays, "storage-02"), pv.Name, pv.Spec.CSI.VolumeHandle)
			_, onFirst := findVDisk(ctx, arrayNamed(arrays, "storage-01"), pv.Name, pv.Spec.CSI.VolumeHandle)
			Expect(onSecond).To(BeTrue(), "vdisk for %s not on storage-02", pv.Name)
			Expect(onFirst).To(BeFalse(), "vdisk for %s also on storage-01", pv.Name)
		}
		kube.runPod(ctx, e.ns, "app", "", volume{claim: "vol"})
		sum := kube.writeData(ctx, e.ns, "app", false, "f")
		Expect(kube.readData(ctx, e.ns, "app", false, "f")).To(Equal(sum))
	})
})

var _ = Describe("Node plugin restart", Label("datapath"), func() {
	It("keeps a volume in use working across a node plugin restart, then cleans up", func(ctx SpecContext) {
		e := newSpecEnv(ctx)
		kube.createPVC(ctx, e.ns, pvcSpec{name: "vol", class: opts.classBasic, size: "1Gi"})
		_, pv := kube.waitBound(ctx, e.ns, "vol")
		pod := kube.runPod(ctx, e.ns, "app", "", volume{claim: "vol"})
		sum := kube.writeData(ctx, e.ns, "app", false, "f")

		old := kube.nodePluginPod(ctx, pod.Spec.NodeName)
		Expect(kube.cs.CoreV1().Pods(opts.driverNamespace).Delete(ctx, old.Name, metav1.DeleteOptions{})).To(Succeed())
		Eventually(ctx, func(g Gomega) {
			p, err := kube.tryNodePluginPod(ctx, pod.Spec.NodeName)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(p.UID).NotTo(Equal(old.UID))
			g.Expect(podReady(p)).To(BeTrue(), "new node plugin pod %s not ready", p.Name)
		}).WithTimeout(opts.timeout).Should(Succeed())

		Expect(kube.readData(ctx, e.ns, "app", false, "f")).To(Equal(sum))
		sum2 := kube.writeData(ctx, e.ns, "app", false, "g")
		Expect(kube.readData(ctx, e.ns, "app", false, "g")).To(Equal(sum2))
		// Unpublish and unstage now go through the new plugin instance.
		kube.deletePod(ctx, e.ns, "app")
		Eventually(ctx, func(g Gomega) {
			vas, err := kube.cs.StorageV1().VolumeAttachments().List(ctx, metav1.ListOptions{})
			g.Expect(err).NotTo(HaveOccurred())
			for _, va := range vas.Items {
				g.Expect(ptr.Deref(va.Spec.Source.PersistentVolumeName, "")).NotTo(Equal(pv.Name),
					"VolumeAttachment %s still present after the pod was deleted", va.Name)
			}
		}).WithTimeout(opts.timeout).Should(Succeed())
	})
})
