import Foundation
import Testing
import SpikeEvents

@Suite struct PortableMathTests {
    @Test(arguments: [1e-300, 0.001, 0.25, 0.5, 0.999, 1, 1.25, 1.4142, 2, 3.7, 10, 1e6, 1e300])
    func logAgreesWithTheCLibrary(x: Double) {
        #expect(abs(PortableMath.log(x) - Foundation.log(x)) <= 1e-14 * max(1, abs(Foundation.log(x))))
    }

    @Test(arguments: [-100, -7.5, -3.2, -1.5707963, -0.4, 0, 1e-9, 0.3, 1, 1.5707963, 2.5, 3.14159, 4, 6.3, 50])
    func sineAndCosineAgreeWithTheCLibrary(x: Double) {
        #expect(abs(PortableMath.sin(x) - Foundation.sin(x)) <= 1e-13)
        #expect(abs(PortableMath.cos(x) - Foundation.cos(x)) <= 1e-13)
    }

    @Test func logOfOneIsZeroAndSineOfZeroIsZero() {
        #expect(PortableMath.log(1) == 0)
        #expect(PortableMath.sin(0) == 0)
    }
}
