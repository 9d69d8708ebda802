using System.Buffers;
using System.Text;
using System.Threading.Channels;
using Grpc.Core;

namespace GrpcJwtAuth.Client.Tests.Infrastructure;

/// <summary>One <c>Renew</c> call the renewer made: when (on the fake clock), to which method, with which headers and call id.</summary>
internal sealed record RenewAttempt(int Number, DateTimeOffset At, string Method, Metadata Headers, string CallId);

/// <summary>
/// The channel a <see cref="Client.Internal.StreamRenewer"/> renews over. It reads the request and writes the reply
/// as protobuf bytes through the method's own marshallers, so the test names no generated type (both packages define
/// them). Each attempt is answered with the status <see cref="Respond"/> picks; an OK reply carries
/// <see cref="AcceptedUntil"/> when set.
/// </summary>
internal sealed class FakeRenewalInvoker(TimeProvider timeProvider) : CallInvoker
{
    private readonly Lock _gate = new();
    private readonly List<RenewAttempt> _attempts = [];
    private readonly Channel<RenewAttempt> _calls = Channel.CreateUnbounded<RenewAttempt>();

    public Func<RenewAttempt, Status> Respond { get; set; } = _ => Status.DefaultSuccess;

    /// <summary>The reply's <c>accepted_until</c>; none when <see langword="null"/>.</summary>
    public Func<RenewAttempt, DateTimeOffset?> AcceptedUntil { get; set; } = _ => null;

    public IReadOnlyList<RenewAttempt> Attempts
    {
        get
        {
            lock (_gate)
            {
                return [.. _attempts];
            }
        }
    }

    /// <summary>Attempt number <paramref name="number"/>, skipping earlier ones; fails the test after 10 s.</summary>
    public async Task<RenewAttempt> WaitForAttemptAsync(int number)
    {
        while (true)
        {
            var attempt = await _calls.Reader.ReadAsync().AsTask().DefaultTimeout();
            if (attempt.Number >= number)
            {
                Assert.Equal(number, attempt.Number);
                return attempt;
            }
        }
    }

    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(
        Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request)
    {
        var headers = new Metadata();
        foreach (var entry in options.Headers ?? [])
        {
            headers.Add(entry);
        }

        RenewAttempt attempt;
        lock (_gate)
        {
            attempt = new RenewAttempt(
                _attempts.Count + 1, timeProvider.GetUtcNow(), method.FullName, headers, ReadCallId(Serialize(method.RequestMarshaller, request)));
            _attempts.Add(attempt);
        }

        _calls.Writer.TryWrite(attempt);
        var status = Respond(attempt);
        var response = status.StatusCode == StatusCode.OK
            ? Task.FromResult(method.ResponseMarshaller.ContextualDeserializer(new BytesDeserializationContext(Reply(AcceptedUntil(attempt)))))
            : Task.FromException<TResponse>(new RpcException(status));
        return new AsyncUnaryCall<TResponse>(response, Task.FromResult(new Metadata()), () => status, () => [], () => { });
    }

    public override TResponse BlockingUnaryCall<TRequest, TResponse>(
        Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request) => throw new NotSupportedException();

    public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(
        Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request) => throw new NotSupportedException();

    public override AsyncClientStreamingCall<TRequest, TResponse> AsyncClientStreamingCall<TRequest, TResponse>(
        Method<TRequest, TResponse> method, string? host, CallOptions options) => throw new NotSupportedException();

    public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(
        Method<TRequest, TResponse> method, string? host, CallOptions options) => throw new NotSupportedException();

    /// <summary>Generated marshallers are contextual only: their plain byte[] serializer throws.</summary>
    private static byte[] Serialize<T>(Marshaller<T> marshaller, T message)
    {
        var context = new BytesSerializationContext();
        marshaller.ContextualSerializer(message, context);
        return context.Payload ?? throw new InvalidOperationException("The marshaller did not complete.");
    }

    /// <summary><c>RenewStreamRequest.call_id</c> (field 1, a string), the only field.</summary>
    private static string ReadCallId(byte[] request)
    {
        if (request.Length == 0)
        {
            return string.Empty;
        }

        Assert.Equal(0x0A, request[0]);
        var position = 1;
        var length = (int)ReadVarint(request, ref position);
        Assert.Equal(request.Length, position + length);
        return Encoding.UTF8.GetString(request, position, length);
    }

    /// <summary><c>RenewStreamReply</c> with <c>accepted_until</c> (field 1, a Timestamp of seconds and nanos) when given.</summary>
    private static byte[] Reply(DateTimeOffset? acceptedUntil)
    {
        if (acceptedUntil is not { } until)
        {
            return [];
        }

        var ticks = (until - DateTimeOffset.UnixEpoch).Ticks;
        List<byte> timestamp = [0x08, .. Varint((ulong)(ticks / TimeSpan.TicksPerSecond))];
        var nanos = ticks % TimeSpan.TicksPerSecond * 100;
        if (nanos != 0)
        {
            timestamp.AddRange([0x10, .. Varint((ulong)nanos)]);
        }

        return [0x0A, .. Varint((ulong)timestamp.Count), .. timestamp];
    }

    private static ulong ReadVarint(byte[] bytes, ref int position)
    {
        ulong value = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = bytes[position++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }
    }

    private static List<byte> Varint(ulong value)
    {
        List<byte> bytes = [];
        while (value >= 0x80)
        {
            bytes.Add((byte)(value | 0x80));
            value >>= 7;
        }

        bytes.Add((byte)value);
        return bytes;
    }

    private sealed class BytesSerializationContext : SerializationContext
    {
        private readonly ArrayBufferWriter<byte> _buffer = new();

        public byte[]? Payload { get; private set; }

        public override void Complete(byte[] payload) => Payload = payload;

        public override IBufferWriter<byte> GetBufferWriter() => _buffer;

        public override void SetPayloadLength(int payloadLength)
        {
        }

        public override void Complete() => Payload = _buffer.WrittenSpan.ToArray();
    }

    private sealed class BytesDeserializationContext(byte[] payload) : DeserializationContext
    {
        public override int PayloadLength => payload.Length;

        public override byte[] PayloadAsNewBuffer() => (byte[])payload.Clone();

        public override ReadOnlySequence<byte> PayloadAsReadOnlySequence() => new(payload);
    }
}
