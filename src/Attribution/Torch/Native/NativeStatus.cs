using System.Runtime.InteropServices;

namespace Attribution.Torch.Native;

/// <summary>Turns the shim's status codes into exceptions carrying the native message.</summary>
internal static class NativeStatus
{
    /// <summary>An exception thrown by a managed gradient hook while libtorch ran backward; rethrown by the caller of backward.</summary>
    [ThreadStatic] internal static Exception? PendingHookException;

    internal static void Check(int status)
    {
        if (status == 0)
        {
            return;
        }

        var message = Marshal.PtrToStringUTF8(NativeMethods.ath_last_error()) ?? "unknown native error";
        var pending = PendingHookException;
        if (pending is not null)
        {
            PendingHookException = null;
            throw new TorchException(OperationOf(message), "a gradient hook threw: " + pending.Message, pending);
        }

        throw new TorchException(OperationOf(message), DetailOf(message));
    }

    private static string OperationOf(string message)
    {
        var colon = message.IndexOf(": ", StringComparison.Ordinal);
        return colon > 0 ? message[..colon] : "native";
    }

    private static string DetailOf(string message)
    {
        var colon = message.IndexOf(": ", StringComparison.Ordinal);
        return colon > 0 ? message[(colon + 2)..] : message;
    }
}
