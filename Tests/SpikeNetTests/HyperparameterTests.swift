import SpikeNet
import Testing

/// The table every hyper-parameter rule is read from.
@Suite struct HyperparameterTests {
    @Test func keysFlagsAndLabelsAreUniqueAndDefaultsAreValid() throws {
        let all = Hyperparameter.all
        #expect(Set(all.map(\.key)).count == all.count)
        #expect(Set(all.map(\.flag)).count == all.count)
        #expect(Set(all.map(\.header)).count == all.count)
        #expect(all.map(\.key) == ["beta", "hidden", "window_us", "target_ratio", "batch_size", "lr", "l2", "denoise_us"])
        try Hyperparameters().validate()
        for p in all { #expect(Hyperparameter.named(p.key) == p && Hyperparameter.flagged(p.flag) == p) }
    }

    @Test func everyValueRoundTripsThroughItsTextAndTheStruct() throws {
        let samples = ["beta": "0.95", "hidden": "400", "window_us": "1000", "target_ratio": "0.95/0.05",
                       "batch_size": "64", "lr": "0.001", "l2": "0", "denoise_us": "off"]
        var h = Hyperparameters()
        for p in Hyperparameter.all {
            let text = try #require(samples[p.key])
            let value = try p.parse(text)
            #expect(value.description == text)
            p.set(value, in: &h)
            #expect(p.value(in: h) == value)
        }
        #expect(h.beta == 0.95 && h.hidden == 400 && h.windowMicros == 1000 && h.batchSize == 64 && h.denoiseMicros == nil)
        #expect(h.canonicalDescription == "beta=0.95,hidden=400,window_us=1000,target_ratio=0.95/0.05,batch_size=64,lr=0.001,l2=0,denoise_us=off")
    }

    @Test(arguments: [
        ("beta", "1.5", "beta must be in (0, 1], got 1.5"),
        ("beta", "0", "beta must be in (0, 1], got 0"),
        ("hidden", "0", "hidden must be >= 1, got 0"),
        ("hidden", "12.5", "expected a whole number, got '12.5'"),
        ("window_us", "-5", "window_us must be >= 1 us, got -5"),
        ("denoise_us", "0", "denoise_us must be >= 1 us or off, got 0"),
        ("target_ratio", "1.2/0.2", "target_ratio must have rates in [0, 1], got 1.2/0.2"),
        ("target_ratio", "0.8-0.2", "expected a ratio like \"0.8/0.2\" (correct/incorrect rate), got '0.8-0.2'"),
        ("lr", "-1", "lr must be > 0, got -1"),
        ("lr", "fast", "expected a number, got 'fast'"),
        ("l2", "-1e-5", "l2 must be >= 0, got -1e-05"),
        ("batch_size", "0", "batch_size must be >= 1, got 0"),
    ])
    func impossibleValuesAreOneLineErrors(key: String, text: String, message: String) throws {
        let p = try #require(Hyperparameter.named(key))
        let error = #expect(throws: ParameterError.self) { try p.parse(text) }
        #expect(error?.message == message)
        let flagged = #expect(throws: ParameterError.self) { try p.parse(text, name: "--\(p.flag)") }
        #expect(flagged?.message.hasPrefix("--\(p.flag)") == true)
    }

    @Test func aQuotedNumberIsNotANumberButAQuotedWholeNumberIsAnInteger() throws {
        let lr = try #require(Hyperparameter.named("lr")), hidden = try #require(Hyperparameter.named("hidden"))
        #expect(throws: ParameterError.self) { try lr.parse("0.1", isQuoted: true) }
        #expect(try hidden.parse("800", isQuoted: true) == .integer(800))
        #expect(try hidden.parse("8.0e2") == .integer(800))
        #expect(throws: ParameterError.self) { try hidden.parse("8.0e2", isQuoted: true) }
    }
}
