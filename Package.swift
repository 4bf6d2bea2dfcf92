// swift-tools-version:6.0
import PackageDescription
import Foundation

// The int8/q4 kernels (Sources/Quantization: GGMLMatrix.swift, Q8_0.swift, Q4_0.swift) work on 8 fp32
// lanes with fused multiply-adds. Swift's default x86-64 target is SSE2: 8 lanes are split in two and
// every `addProduct` becomes a call to `fmaf` per lane. `-target-cpu haswell` enables AVX2, FMA and F16C
// (x86-64 CPUs since 2013–2015; the binary then needs one). Measured on one core, L2-resident weights:
// the q4 matrix–vector product takes 0.10 ns per weight with it and 2.2 ns without; int8 0.09 and 2.2.
// Only this target gets it; other architectures need nothing.
#if arch(x86_64)
let quantizationKernelSettings: [SwiftSetting] = [.unsafeFlags(["-target-cpu", "haswell"])]
#else
let quantizationKernelSettings: [SwiftSetting] = []
#endif

let package = Package(
    name: "mixtral-lab",
    products: [
        .executable(name: "mixtral-lab", targets: ["mixtral-lab"]),
    ],
    // Exact versions: the ones tested. Package.resolved is not committed because the machines this project
    // is built on serve these packages from local mirrors whose commit ids differ from GitHub's, so a
    // resolved file from one machine would not resolve on another; `exact:` pins what a file would.
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", exact: "6.2.2"),
        .package(url: "https://github.com/stencilproject/Stencil", exact: "0.15.1"),
    ],
    targets: [
        // System-library shims (Debian: libopenblas-dev, libpng-dev, libcairo2-dev, libssl-dev).
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng",
                       providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CCairo", pkgConfig: "cairo",
                       providers: [.apt(["libcairo2-dev"])]),
        .systemLibrary(name: "CCrypto", pkgConfig: "libcrypto",
                       providers: [.apt(["libssl-dev"])]),
        // libpng's full API reports errors by longjmp; this C target wraps it in setjmp.
        .target(name: "PNGWrite", dependencies: ["CPNG"]),

        // CPUID and XCR0: the features the Quantization target needs, checked before it runs (baseline x86-64).
        .target(name: "CPUFeatures"),
        // What a path names, the output-file check, the output-folder lock and the run manifest every writer uses.
        .target(name: "FileChecks", dependencies: ["UserInput"]),
        // The mark of an error caused by the user's input (exit code 2), adopted by every module's errors.
        .target(name: "UserInput"),
        .target(name: "Tensors", dependencies: ["CBLAS", "CKernels"]),
        .target(name: "Checkpoints", dependencies: ["Tensors", "Quantization", "FileChecks", "UserInput", "CCrypto"]),
        // Integer dot products for `--activations q8`, and fp32 weights times small batches (C; each function
        // carries its own target attribute and the CPU is checked at run time, so no flags here).
        .target(name: "CKernels", linkerSettings: [.linkedLibrary("m", .when(platforms: [.linux]))]),
        .target(name: "Quantization", dependencies: ["Tensors", "CKernels", "UserInput"], swiftSettings: quantizationKernelSettings),
        .target(name: "Engine", dependencies: ["Tensors", "Checkpoints", "Quantization", "UserInput"]),
        .target(name: "Tracing", dependencies: ["FileChecks", "UserInput"]),
        .target(name: "Offloading", dependencies: ["Engine", "Tracing", "FileChecks", "UserInput"]),
        .target(name: "Charts", dependencies: ["CCairo", "PNGWrite", "FileChecks", "UserInput"]),
        // Measurements turned into tables, charts and narration: what commands and lessons both show.
        .target(name: "Reports", dependencies: [
            "Tensors", "Checkpoints", "Engine", "Quantization", "Offloading", "Tracing", "Charts", "FileChecks", "UserInput",
        ]),
        // The lesson format, its parser and runner, and the catalogue of experiments lab blocks name.
        .target(name: "Lessons", dependencies: [
            "Engine", "Quantization", "Offloading", "Tracing", "Charts", "Reports", "FileChecks", "UserInput",
            .product(name: "Yams", package: "Yams"),
            .product(name: "Stencil", package: "Stencil"),
        ]),
        .executableTarget(name: "mixtral-lab", dependencies: [
            "Tensors", "Checkpoints", "Quantization", "Engine", "Offloading", "Tracing", "Charts", "Reports", "Lessons", "FileChecks", "UserInput", "CPUFeatures",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // Scratch folders for tests, removed when each test ends (Tests/TestSupport).
        .target(name: "TestSupport", dependencies: ["Tensors"], path: "Tests/TestSupport"),
        .testTarget(name: "TensorsTests", dependencies: ["Tensors", "CKernels"]),
        .testTarget(name: "FileChecksTests", dependencies: ["FileChecks", "TestSupport"]),
        .testTarget(name: "CheckpointsTests", dependencies: ["Checkpoints", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "QuantizationTests", dependencies: ["Quantization"], resources: [.copy("Fixtures")]),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "OffloadingTests", dependencies: ["Offloading", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "TracingTests", dependencies: ["Tracing", "TestSupport"]),
        .testTarget(name: "ChartsTests", dependencies: ["Charts", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "ReportsTests", dependencies: ["Reports", "TestSupport"]),
        .testTarget(name: "LessonsTests", dependencies: ["Lessons", "Reports", "TestSupport"]),
        .testTarget(name: "MixtralLabTests", dependencies: ["mixtral-lab", "TestSupport", "FileChecks", "UserInput"]),
    ],
    swiftLanguageModes: [.v6]
)

// libFuzzer targets, one per parser of outside input (Fuzz/README.md). They have no `main` (libFuzzer's is
// linked in), so they exist only in the build `scripts/fuzz.sh` makes: MIXTRAL_LAB_FUZZ=1, its own scratch
// path, `--sanitize fuzzer --sanitize address`.
if ProcessInfo.processInfo.environment["MIXTRAL_LAB_FUZZ"] == "1" {
    package.targets.append(.target(name: "FuzzSupport", path: "Fuzz/FuzzSupport"))
    let fuzzTargets: [(name: String, dependencies: [Target.Dependency])] = [
        ("safetensors", ["Checkpoints"]), ("gguf", ["Checkpoints"]), ("tokenizer-json", ["Checkpoints"]),
        ("config-json", ["Checkpoints"]), ("lesson", ["Lessons"]), ("hardware-profile", ["Offloading"]),
        ("expert-store-manifest", ["Offloading", "Checkpoints", "Quantization"]),
    ]
    for target in fuzzTargets {
        package.targets.append(.executableTarget(name: "fuzz-\(target.name)", dependencies: target.dependencies + ["FuzzSupport"],
                                                 path: "Fuzz/\(target.name)"))
    }
}
