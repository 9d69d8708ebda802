using GrpcJwtAuth.Tool;

return await Diagnosis.RunAsync(Console.In, Console.Out, Console.Error, args, new DiagnosisSetup { InputIsTerminal = !Console.IsInputRedirected });
