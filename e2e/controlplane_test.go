package e2e

import (
	"context"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/instorage-csi/instorage-csi/driver/pkg/array"
)

// These specs need no node data path (no iSCSI login), so they also run on kind,
// whose nodes cannot reach the kernel's iSCSI netlink: they check what the
// controller does on the arrays. Data-path specs carry Label("datapath").

const gib = int64(1) << 30

// vdiskOf is the vdisk behind the claim's PV on array a (detail view).
func vdiskOf(ctx context.Context, a *arrayView, pv *corev1.PersistentVolume) array.VDiskDetail {
	GinkgoHelper()
	vd, ok := findVDisk(ctx, a, pv.Name, pv.Spec.CSI.VolumeHandle)
	Expect(ok).To(BeTrue(), "no vdisk for %s (handle %s) on %s", pv.Name, pv.Spec.CSI.VolumeHandle, a.name)
	d, err := a.client.LsVDisk(ctx, vd.Name)
	Expect(err).NotTo(HaveOccurred())
	return d
}

var _ = Describe("Control plane", Label("controlplane"), func() {
	BeforeEach(func() {
		if len(arrays) == 0 {
			Skip("array checks disabled (-skip-array-checks)")
		}
	})

	It("creates a thin vdisk of the requested size and deletes it with the claim", func(ctx SpecContext) {
		e := newSpecEnv(ctx)
		kube.createPVC(ctx, e.ns, pvcSpec{name: "vol", class: opts.classBasic, size: "1Gi"})
		_, pv := kube.waitBound(ctx, e.ns, "vol")
		d := vdiskOf(ctx, arrayNamed(arrays, "storage-01"), pv)
		Expect(d.Capacity).To(Equal(gib))
		Expect(d.Copies).NotTo(BeEmpty())
		Expect(d.Copies[0].Thin).To(BeTrue(), "class asks volThin=true")
		Expect(d.Copies[0].PoolName).To(Equal("Pool0"))
		// Deletion (and the leak check) happens in the spec's cleanup.
	})

	It("expands the vdisk when the claim grows", func(ctx SpecContext) {
		e := newSpecEnv(ctx)
		kube.createPVC(ctx, e.ns, pvcSpec{name: "vol", class: opts.classBasic, size: "1Gi", block: true})
		_, pv := kube.waitBound(ctx, e.ns, "vol")
		kube.expandPVC(ctx, e.ns, "vol", "2Gi")
		// A raw block claim needs no node expansion: the PV capacity is the whole story.
		kube.waitPVSize(ctx, pv.Name, "2Gi")
		Expect(vdiskOf(ctx, arrayNamed(arrays, "storage-01"), pv).Capacity).To(Equal(2 * gib))
	})

	It("takes a snapshot and restores and clones from it on the array", func(ctx SpecContext) {
		e := newSpecEnv(ctx)
		a := arrayNamed(arrays, "storage-01")
		kube.createPVC(ctx, e.ns, pvcSpec{name: "src", class: opts.classBasic, size: "1Gi", block: true})
		_, srcPV := kube.waitBound(ctx, e.ns, "src")
		vs := kube.snapshot(ctx, e.ns, "snap", "src")
		Expect(vs.Status.RestoreSize).NotTo(BeNil())
		Expect(vs.Status.RestoreSize.Value()).To(Equal(gib))

		kube.createPVC(ctx, e.ns, pvcSpec{name: "restored", class: opts.classBasic, size: "1Gi", block: true,
			source: &corev1.TypedLocalObjectReference{APIGroup: ptr.To("snapshot.storage.k8s.io"), Kind: "VolumeSnapshot", Name: "snap"}})
		kube.createPVC(ctx, e.ns, pvcSpec{name: "clone", class: opts.classBasic, size: "1Gi", block: true,
			source: &corev1.TypedLocalObjectReference{Kind: "PersistentVolumeClaim", Name: "src"}})
		_, restoredPV := kube.waitBound(ctx, e.ns, "restored")
		_, clonePV := kube.waitBound(ctx, e.ns, "clone")
		src := vdiskOf(ctx, a, srcPV)
		for _, pv := range []*corev1.PersistentVolume{restoredPV, clonePV} {
			d := vdiskOf(ctx, a, pv)
			Expect(d.Name).NotTo(Equal(src.Name))
			Expect(d.Capacity).To(Equal(gib))
		}
		// Deleting the snapshot and then the source must not lose the copies: the
		// restore's and the clone's vdisks stay. (While a snapshot exists the
		// driver may keep its source, so the snapshot goes first.)
		Expect(kube.snap.SnapshotV1().VolumeSnapshots(e.ns).Delete(ctx, "snap", metav1.DeleteOptions{})).To(Succeed())
		Expect(kube.cs.CoreV1().PersistentVolumeClaims(e.ns).Delete(ctx, "src", metav1.DeleteOptions{})).To(Succeed())
		Eventually(ctx, func() bool {
			_, ok := findVDisk(ctx, a, srcPV.Name, srcPV.Spec.CSI.VolumeHandle)
			return ok
		}).WithTimeout(opts.timeout).Should(BeFalse(), "source vdisk not deleted")
		vdiskOf(ctx, a, restoredPV)
		vdiskOf(ctx, a, clonePV)
	})

	It("creates mirror vdisks with a copy in each pool", func(ctx SpecContext) {
		e := newSpecEnv(ctx)
		kube.createPVC(ctx, e.ns, pvcSpec{name: "vol", class: opts.classMirror, size: "1Gi", block: true})
		_, pv := kube.waitBound(ctx, e.ns, "vol")
		d := vdiskOf(ctx, arrayNamed(arrays, "storage-01"), pv)
		Expect(d.Copies).To(HaveLen(2))
		Expect([]string{d.Copies[0].PoolName, d.Copies[1].PoolName}).To(ConsistOf("Pool0", "Pool1"))
	})

	It("creates and expands active-active volumes (manual §6.2)", func(ctx SpecContext) {
		e := newSpecEnv(ctx)
		a := arrayNamed(arrays, "storage-01")
		kube.createPVC(ctx, e.ns, pvcSpec{name: "vol", class: opts.classAA, size: "1Gi", block: true})
		_, pv := kube.waitBound(ctx, e.ns, "vol")
		d := vdiskOf(ctx, a, pv)
		Expect(d.RCName).NotTo(BeEmpty(), "active-active vdisk %s has no rcrelationship", d.Name)
		kube.expandPVC(ctx, e.ns, "vol", "2Gi")
		kube.waitPVSize(ctx, pv.Name, "2Gi")
		Expect(vdiskOf(ctx, a, pv).Capacity).To(Equal(2 * gib))
	})

	It("provisions on the array named by devName only", func(ctx SpecContext) {
		e := newSpecEnv(ctx)
		kube.createPVC(ctx, e.ns, pvcSpec{name: "vol", class: opts.classSecondDev, size: "1Gi", block: true})
		_, pv := kube.waitBound(ctx, e.ns, "vol")
		vdiskOf(ctx, arrayNamed(arrays, "storage-02"), pv)
		_, onFirst := findVDisk(ctx, arrayNamed(arrays, "storage-01"), pv.Name, pv.Spec.CSI.VolumeHandle)
		Expect(onFirst).To(BeFalse(), "vdisk for %s also on storage-01", pv.Name)
	})

	It("rejects a class with an unknown pool and leaves nothing on the array", func(ctx SpecContext) {
		e := newSpecEnv(ctx)
		sc, err := kube.cs.StorageV1().StorageClasses().Get(ctx, opts.classBasic, metav1.GetOptions{})
		Expect(err).NotTo(HaveOccurred())
		bad := sc.DeepCopy()
		bad.ObjectMeta = metav1.ObjectMeta{Name: e.ns + "-badpool"}
		bad.Parameters["volPoolName"] = "NoSuchPool"
		_, err = kube.cs.StorageV1().StorageClasses().Create(ctx, bad, metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func(ctx SpecContext) {
			_ = kube.cs.StorageV1().StorageClasses().Delete(ctx, bad.Name, metav1.DeleteOptions{})
		})
		kube.createPVC(ctx, e.ns, pvcSpec{name: "vol", class: bad.Name, size: "1Gi", block: true})
		Eventually(ctx, func() string { return kube.events(ctx, e.ns, "vol") }).
			WithTimeout(opts.timeout).Should(ContainSubstring("ProvisioningFailed"))
		pvc, err := kube.cs.CoreV1().PersistentVolumeClaims(e.ns).Get(ctx, "vol", metav1.GetOptions{})
		Expect(err).NotTo(HaveOccurred())
		Expect(pvc.Status.Phase).To(Equal(corev1.ClaimPending))
	})
})
