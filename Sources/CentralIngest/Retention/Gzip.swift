import CZlib
import Foundation

/// gzip through zlib (the system library): one member per call to `compress`, and `decompress`
/// reads a file of several members, as `zcat` does. Why by hand: Foundation on Linux has no gzip,
/// and zlib's C API is the well-kept library; this is the thinnest wrapper around it.
public enum Gzip {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// One complete gzip member holding `data`.
    public static func compress(_ data: Data, level: Int32 = 6) throws(Failure) -> Data {
        var stream = z_stream()
        // windowBits 15 + 16: a gzip header and trailer around the deflate stream.
        guard deflateInit2_(&stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw Failure(description: "zlib: cannot start compressing")
        }
        defer { deflateEnd(&stream) }
        var out = Data()
        var input = data
        var status: Int32 = Z_OK
        let chunk = 64 * 1024
        var buffer = [UInt8](repeating: 0, count: chunk)
        input.withUnsafeMutableBytes { (raw: UnsafeMutableRawBufferPointer) in
            stream.next_in = raw.bindMemory(to: Bytef.self).baseAddress
            stream.avail_in = uInt(raw.count)
            repeat {
                buffer.withUnsafeMutableBufferPointer { b in
                    stream.next_out = b.baseAddress
                    stream.avail_out = uInt(chunk)
                    status = deflate(&stream, Z_FINISH)
                    out.append(b.baseAddress!, count: chunk - Int(stream.avail_out))
                }
            } while status == Z_OK || status == Z_BUF_ERROR && stream.avail_out == 0
        }
        guard status == Z_STREAM_END else { throw Failure(description: "zlib: compressing failed (\(status))") }
        return out
    }

    /// Everything in `data`, one gzip member after another.
    public static func decompress(_ data: Data) throws(Failure) -> Data {
        var stream = z_stream()
        // windowBits 15 + 32: detect the gzip header.
        guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw Failure(description: "zlib: cannot start decompressing")
        }
        defer { inflateEnd(&stream) }
        var out = Data()
        var input = data
        let chunk = 256 * 1024
        var buffer = [UInt8](repeating: 0, count: chunk)
        var failure: String?
        input.withUnsafeMutableBytes { (raw: UnsafeMutableRawBufferPointer) in
            stream.next_in = raw.bindMemory(to: Bytef.self).baseAddress
            stream.avail_in = uInt(raw.count)
            while true {
                var status: Int32 = Z_OK
                buffer.withUnsafeMutableBufferPointer { b in
                    stream.next_out = b.baseAddress
                    stream.avail_out = uInt(chunk)
                    status = inflate(&stream, Z_NO_FLUSH)
                    out.append(b.baseAddress!, count: chunk - Int(stream.avail_out))
                }
                if status == Z_STREAM_END {
                    // The next member, if any (an archive grows a member per retention chunk).
                    if stream.avail_in == 0 { return }
                    guard inflateReset(&stream) == Z_OK else { failure = "zlib: cannot read the next member"; return }
                    continue
                }
                if status == Z_OK { continue }
                if status == Z_BUF_ERROR && stream.avail_in == 0 {
                    failure = "the file ends inside a gzip member (cut short: was it being written?)"
                    return
                }
                failure = "not gzip data, or damaged (zlib \(status))"
                return
            }
        }
        if let failure { throw Failure(description: failure) }
        return out
    }
}
