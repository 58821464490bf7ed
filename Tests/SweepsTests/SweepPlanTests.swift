import Testing
import SpikeNet
import Sweeps

@Suite struct SweepPlanTests {
    static func spec(_ extra: String = "", epochs: Int = 2, seed: Int = 1) throws -> SweepSpec {
        try SweepSpec.parse("""
            name: p
            data: {synthetic: {count: 100}}
            cv: {folds: 3}
            epochs: \(epochs)
            seed: \(seed)
            grid: {beta: [0.8, 0.9], hidden: [16, 32]}
            \(extra)
            """, file: "p.yaml")
    }

    @Test func tasksAreConfigMajorWithStableUniqueIds() throws {
        let plan = SweepPlan(spec: try Self.spec(), datasetFingerprint: 42)
        #expect(plan.tasks.count == 12)
        #expect(plan.tasks.map(\.fold) == [0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2])
        #expect(Set(plan.tasks.map(\.id)).count == 12)
        #expect(Set(plan.tasks.map(\.seed)).count == 12)
        #expect(plan.tasks.allSatisfy { $0.id.count == 12 && $0.configID.count == 8 })
        let again = SweepPlan(spec: try Self.spec(), datasetFingerprint: 42)
        #expect(again.tasks == plan.tasks)
        #expect(plan.label(ofConfig: 1) == "b0.8 H32")
    }

    @Test func idsDependOnDataEpochsAndSeedButNotOnFileLayout() throws {
        let plan = SweepPlan(spec: try Self.spec(), datasetFingerprint: 42)
        #expect(SweepPlan(spec: try Self.spec(), datasetFingerprint: 43).tasks[0].id != plan.tasks[0].id)
        #expect(SweepPlan(spec: try Self.spec(epochs: 3), datasetFingerprint: 42).tasks[0].id != plan.tasks[0].id)
        let reseeded = SweepPlan(spec: try Self.spec(seed: 2), datasetFingerprint: 42)
        #expect(reseeded.tasks[0].id != plan.tasks[0].id)
        #expect(reseeded.tasks[0].seed != plan.tasks[0].seed)
        // A value pinned explicitly to its default is the same configuration.
        let pinned = SweepPlan(spec: try Self.spec("fixed: {batch_size: 128}"), datasetFingerprint: 42)
        #expect(pinned.tasks.map(\.id) == plan.tasks.map(\.id))
    }

    @Test func canonicalYAMLParsesBackToTheSameSpec() throws {
        let spec = try Self.spec("fixed: {lr: 1.0e-3, denoise_us: off}")
        let reparsed = try SweepSpec.parse(spec.canonicalYAML, file: "spec.yaml")
        #expect(reparsed.configurations == spec.configurations)
        #expect(reparsed.resultHash == spec.resultHash)
        #expect(try Self.spec().resultHash != spec.resultHash)
    }

    @Test func longestTasksAreScheduledFirst() throws {
        let plan = SweepPlan(spec: try Self.spec(), datasetFingerprint: 1)
        let order = TaskScheduler(plan: plan, skipping: []).pending
        #expect(order.first?.hyperparameters.hidden == 32)
        #expect(order.last?.hyperparameters.hidden == 16)
        #expect(TaskScheduler(plan: plan, skipping: Set(plan.tasks.prefix(5).map(\.id))).count == 7)
    }
}
