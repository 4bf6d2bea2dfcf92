// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "mixtral-lab",
    products: [
        .executable(name: "mixtral-lab", targets: ["mixtral-lab"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/stencilproject/Stencil", from: "0.15.1"),
    ],
    targets: [
        // System-library shims (Debian: libopenblas-dev, libpng-dev, libcairo2-dev).
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng",
                       providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CCairo", pkgConfig: "cairo",
                       providers: [.apt(["libcairo2-dev"])]),
        // libpng's full API reports errors by longjmp; this C target wraps it in setjmp.
        .target(name: "PNGWrite", dependencies: ["CPNG"]),

        .target(name: "Tensors", dependencies: ["CBLAS"]),
        .target(name: "Checkpoints", dependencies: ["Tensors", "Quantization"]),
        .target(name: "Quantization", dependencies: ["Tensors"]),
        .target(name: "Engine", dependencies: ["Tensors", "Checkpoints", "Quantization"]),
        .target(name: "Tracing", dependencies: ["Engine"]),
        .target(name: "Offloading", dependencies: ["Engine", "Tracing"]),
        .target(name: "Charts", dependencies: ["CCairo", "PNGWrite"]),
        .target(name: "Lessons", dependencies: [
            "Engine", "Quantization", "Offloading", "Tracing", "Charts",
            .product(name: "Yams", package: "Yams"),
            .product(name: "Stencil", package: "Stencil"),
        ]),
        .executableTarget(name: "mixtral-lab", dependencies: [
            "Tensors", "Checkpoints", "Quantization", "Engine", "Offloading", "Tracing", "Charts", "Lessons",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .testTarget(name: "TensorsTests", dependencies: ["Tensors"]),
        .testTarget(name: "CheckpointsTests", dependencies: ["Checkpoints"], resources: [.copy("Fixtures")]),
        .testTarget(name: "QuantizationTests", dependencies: ["Quantization"], resources: [.copy("Fixtures")]),
        .testTarget(name: "EngineTests", dependencies: ["Engine"], resources: [.copy("Fixtures")]),
        .testTarget(name: "OffloadingTests", dependencies: ["Offloading"], resources: [.copy("Fixtures")]),
        .testTarget(name: "TracingTests", dependencies: ["Tracing"]),
        .testTarget(name: "ChartsTests", dependencies: ["Charts"], resources: [.copy("Fixtures")]),
        .testTarget(name: "LessonsTests", dependencies: ["Lessons"]),
    ],
    swiftLanguageModes: [.v5]
)
