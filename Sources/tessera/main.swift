import Foundation
import TesseraCLI

exit(await TesseraCLI.main(Array(CommandLine.arguments.dropFirst())))
