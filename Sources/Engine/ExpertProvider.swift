/// Supplies the experts of the MoE layers when they are not all resident in memory (real offloading:
/// experts streamed from disk into a fixed pool of slots). A model loaded with its experts resident has
/// no provider and pays nothing for this hook.
///
/// The forward pass calls, for every MoE layer of every forward call: `layerRouted` once, after the router
/// chose the experts of every token and before any expert runs; then `expert(layer:_:)` once for each
/// distinct chosen expert, in ascending expert order, running each before asking for the next. A model
/// with a provider runs one forward pass at a time (a provider is `Sendable` only so that models stay
/// `Sendable`; it synchronises its own background reads).
public protocol ExpertProvider: AnyObject, Sendable {
    /// Bytes of each expert of `layer` (w1 + w2 + w3) at its storage precision, `[numExperts]`.
    func expertBytes(layer: Int) -> [Int]

    /// The router of `layer` chose `chosen` for the call's tokens.
    /// - Parameters:
    ///   - model: the model running (its later layers' routers allow speculative prefetch).
    ///   - chosen: `[tokens, topK]` expert indices, best first per token.
    ///   - routerInput: `[tokens, hiddenSize]` the router's input (post-attention RMSNorm output).
    ///   - firstPosition: absolute position of the call's first token.
    /// - Throws: whatever the provider's reads throw (the forward pass stops with it).
    func layerRouted(model: MixtralModel, layer: Int, tokens: Int, chosen: UnsafePointer<Int>,
                     routerInput: UnsafePointer<Float>, firstPosition: Int) throws

    /// The weights of expert `expert` of `layer`, one of the experts just routed. They stay valid until the
    /// next call of `expert(layer:_:)` or `layerRouted`; the caller must not keep them longer (their
    /// storage is reused for the next expert).
    /// - Throws: an error reading the expert (e.g. a store file truncated after it was opened).
    func expert(layer: Int, _ expert: Int) throws -> ExpertWeights
}
