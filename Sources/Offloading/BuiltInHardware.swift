extension HardwareProfile {
    private static let GiB = 1 << 30

    /// The built-in profiles. Datasheet numbers are peaks; link bandwidths are effective host→device rates
    /// (nominal PCIe rate less protocol overhead), which is what a large pinned-memory copy achieves.
    /// Numbers marked "assumed" are not from a datasheet: change them with `--hardware FILE.json`.
    public static let builtIn: [HardwareProfile] = [colabT4, rtx3060, rtx3080Mobile, a100_80g, laptop16GBNVMe]

    /// Google Colab free tier: NVIDIA T4 on PCIe Gen.3, the setting of Eliseev & Mazur 2023 (arXiv:2312.17238,
    /// section 4.3 and Table 2).
    public static let colabT4 = HardwareProfile(
        name: "colab-t4",
        // NVIDIA T4 datasheet: 16 GB GDDR6; nvidia-smi on Colab reports 15360 MiB usable.
        fastMemoryBytes: 15 * GiB,
        // Colab free tier's resource panel: 12.7 GB system RAM.
        slowMemoryBytes: 12_700_000_000,
        // NVIDIA T4 datasheet: 65 TFLOPS mixed precision (FP16/FP32) tensor cores.
        computeFlops: 65e12,
        // NVIDIA T4 datasheet: 320+ GB/s.
        memoryBandwidth: 320e9,
        // PCIe 3.0 x16: 8 GT/s × 16 lanes × 128/130 = 15.75 GB/s nominal; ≈ 12 GB/s for pinned host→device
        // copies (CUDA samples' bandwidthTest on Gen3 hosts).
        linkBandwidth: 12e9,
        // Assumed: launch + DMA setup of one cudaMemcpyAsync, order of 10 µs.
        linkLatencyUs: 10,
        fastTier: "GPU memory", slowTier: "host RAM",
        // Colab's VM: 2 vCPUs of an Intel Xeon @ 2.20 GHz (its /proc/cpuinfo), one physical core with
        // hyper-threading: 2 AVX2 FMA units × 8 fp32 lanes × 2 FLOP × 2.2 GHz = 70.4 GFLOP/s.
        hostComputeFlops: 70.4e9,
        // Assumed: what one server core draws from DDR4, ≈ 12 GB/s (single-thread STREAM on Xeon servers is
        // 10–15 GB/s); the VM's share of the socket's bandwidth is not published.
        hostMemoryBandwidth: 12e9)

    /// Desktop NVIDIA GeForce RTX 3060 12 GB; Eliseev & Mazur 2023 (section 4.3) ran theirs on PCIe Gen.3.
    public static let rtx3060 = HardwareProfile(
        name: "rtx-3060",
        // NVIDIA GeForce RTX 3060 specifications: 12 GB GDDR6.
        fastMemoryBytes: 12 * GiB,
        // Assumed: a 32 GiB desktop.
        slowMemoryBytes: 32 * GiB,
        // NVIDIA Ampere GA10x: dense FP16 tensor math with FP32 accumulate runs at twice the 12.7 TFLOPS FP32 rate.
        computeFlops: 25.4e12,
        // 192-bit bus × 15 Gbps GDDR6 = 360 GB/s (NVIDIA specifications).
        memoryBandwidth: 360e9,
        // PCIe 3.0 x16 as in the paper's desktop: ≈ 12 GB/s effective (see colab-t4).
        linkBandwidth: 12e9,
        linkLatencyUs: 10,
        fastTier: "GPU memory", slowTier: "host RAM",
        // Assumed desktop CPU: 8 cores × 2 AVX2 FMA units × 8 fp32 lanes × 2 FLOP × 3.5 GHz = 896 GFLOP/s.
        hostComputeFlops: 896e9,
        // Assumed dual-channel DDR4-3200: 2 × 8 bytes × 3200 MT/s = 51.2 GB/s (JEDEC DDR4).
        hostMemoryBandwidth: 51.2e9)

    /// NVIDIA GeForce RTX 3080 Laptop GPU, 16 GB variant, on PCIe Gen.4 (Eliseev & Mazur 2023, section 4.3).
    public static let rtx3080Mobile = HardwareProfile(
        name: "rtx-3080-mobile",
        // NVIDIA GeForce RTX 3080 Laptop GPU specifications: 16 GB GDDR6 (8 GB variants exist).
        fastMemoryBytes: 16 * GiB,
        // Assumed: a 32 GiB laptop.
        slowMemoryBytes: 32 * GiB,
        // 6144 CUDA cores × 2 FLOP × ≈1.25 GHz (mid-TGP boost) ≈ 15 TFLOPS FP32; FP16 tensor with FP32
        // accumulate twice that (Ampere GA10x). Laptop clocks vary with the power limit.
        computeFlops: 30e12,
        // 256-bit bus × 14 Gbps GDDR6 = 448 GB/s.
        memoryBandwidth: 448e9,
        // PCIe 4.0 x16: 16 GT/s × 16 × 128/130 = 31.5 GB/s nominal; ≈ 25 GB/s effective (assumed, the same
        // ~80% as Gen3's 12 of 15.75 GB/s).
        linkBandwidth: 25e9,
        linkLatencyUs: 10,
        fastTier: "GPU memory", slowTier: "host RAM",
        // Assumed laptop CPU: 8 cores × 2 AVX2 FMA units × 8 fp32 lanes × 2 FLOP × 3.0 GHz = 768 GFLOP/s.
        hostComputeFlops: 768e9,
        // Assumed dual-channel DDR4-3200: 51.2 GB/s (JEDEC DDR4).
        hostMemoryBandwidth: 51.2e9)

    /// NVIDIA A100 80GB SXM, the paper's reference server (Eliseev & Mazur 2023, section 4.3).
    public static let a100_80g = HardwareProfile(
        name: "a100-80g",
        // NVIDIA A100 datasheet: 80 GB HBM2e.
        fastMemoryBytes: 80 * GiB,
        // Assumed: a 256 GiB server.
        slowMemoryBytes: 256 * GiB,
        // NVIDIA A100 datasheet: 312 TFLOPS FP16 tensor (dense).
        computeFlops: 312e12,
        // NVIDIA A100 datasheet, 80GB SXM: 2,039 GB/s.
        memoryBandwidth: 2039e9,
        // Host link PCIe Gen4 x16, 64 GB/s both directions (A100 datasheet), 32 GB/s each way; ≈ 25 GB/s
        // effective (assumed, as for rtx-3080-mobile).
        linkBandwidth: 25e9,
        linkLatencyUs: 10,
        fastTier: "GPU memory", slowTier: "host RAM",
        // Assumed host: one AMD EPYC 7742 socket (the DGX A100's CPU): 64 cores × 2 AVX2 FMA units × 8 fp32
        // lanes × 2 FLOP × 2.25 GHz base = 4.6 TFLOP/s.
        hostComputeFlops: 4.6e12,
        // EPYC 7742: 8 channels of DDR4-3200 × 25.6 GB/s = 204.8 GB/s (AMD specifications).
        hostMemoryBandwidth: 204.8e9)

    /// A 16 GB laptop without a usable GPU: the CPU computes from RAM; experts that do not fit are read from
    /// an NVMe SSD (what `mixtral-lab`'s own engine would do).
    public static let laptop16GBNVMe = HardwareProfile(
        name: "laptop-16gb-nvme",
        fastMemoryBytes: 16 * GiB,
        // Assumed: a 512 GB SSD.
        slowMemoryBytes: 512_000_000_000,
        // Assumed: 8 cores × 2 AVX2 FMA units × 8 fp32 lanes × 2 FLOP × 3 GHz = 768 GFLOP/s peak.
        computeFlops: 768e9,
        // Dual-channel DDR4-3200: 2 × 8 bytes × 3200 MT/s = 51.2 GB/s (JEDEC DDR4).
        memoryBandwidth: 51.2e9,
        // Samsung 970 EVO Plus datasheet: sequential read up to 3,500 MB/s (PCIe 3.0 x4 NVMe).
        linkBandwidth: 3.5e9,
        // Assumed: NVMe read latency plus a page-cache miss, ≈ 100 µs per expert read.
        linkLatencyUs: 100,
        fastTier: "RAM", slowTier: "NVMe SSD")
}
